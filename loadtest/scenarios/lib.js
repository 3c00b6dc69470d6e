// Shared pieces of the k6 scenarios: parameters from __ENV, synthetic recipients and the one
// request each scenario sends. Runs inside k6 (not Node). Never logs a request body: the
// bodies carry (synthetic) phone numbers, and k6 output must not.
import http from 'k6/http';
import { check } from 'k6';

export function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}
export const num = (name, fallback) => Number(env(name, String(fallback)));

export const BASE_URL = env('BASE_URL', 'http://127.0.0.1:8080');
export const CAMPAIGN = env('CAMPAIGN', 'loadtest.otp');
export const PURPOSE = env('PURPOSE', 'transactional');
const RUN_ID = env('RUN_ID', String(Date.now()));
// The sending system's bearer token (a Kubernetes ServiceAccount token): from the environment, never the command line.
const AUTH = { authorization: `Bearer ${env('TOKEN', '')}` };

/** Thresholds every scenario shares; P95_MS / P99_MS / MAX_ERROR_RATE tune them per run. */
export function thresholds(p95, p99, latencyMetric = 'http_req_duration') {
  const maxErrorRate = num('MAX_ERROR_RATE', 0.01);
  return {
    http_req_failed: [`rate<${maxErrorRate}`],
    [latencyMetric]: [`p(95)<${num('P95_MS', p95)}`, `p(99)<${num('P99_MS', p99)}`],
    // A refused request fails its check too: the same bar, seen from the answers.
    checks: [`rate>${Number((1 - maxErrorRate).toFixed(6))}`],
  };
}

const pad = (n, width) => String(n).padStart(width, '0');

/** A synthetic mobile number in 010-2xxx-xxxx, a range no real subscriber data is drawn from here. */
export function syntheticPhone(i) {
  return `010-2${pad(Math.floor(i / 10000) % 1000, 3)}-${pad(i % 10000, 4)}`;
}

const otp = () => pad(Math.floor(Math.random() * 1000000), 6);

/** One transactional message through the single-message API; `i` only picks the synthetic number. */
export function sendOne(i) {
  const body = JSON.stringify({
    purpose: PURPOSE,
    requestId: `${RUN_ID}-${__VU}-${__ITER}`,
    recipient: { phone: syntheticPhone(i), vars: { code: otp() } },
  });
  const res = http.post(`${BASE_URL}/v1/campaigns/${CAMPAIGN}/messages`, body, {
    headers: { 'content-type': 'application/json', ...AUTH },
    tags: { name: 'messages' },
  });
  if (!check(res, { 'message accepted (202)': (r) => r.status === 202 })) noteRefusal(res);
}

let refusalsLogged = 0;
/** Status and error code (a fixed word) of the first few refusals per VU; never a body, which may quote a number. */
function noteRefusal(res) {
  if (refusalsLogged++ >= 3) return;
  let code = `k6 error ${res.error_code}`;
  try {
    code = String(res.json('error.code')).replace(/[^a-z-]/g, '');
  } catch {
    /* not the gateway's JSON error */
  }
  console.warn(`request refused: status ${res.status} ${code}`);
}

/** A csv of `rows` synthetic recipients with the template's #{code} variable, built in memory. */
export function syntheticCsv(rows) {
  const lines = ['이름,휴대폰번호,광고수신동의,야간수신동의,code'];
  for (let i = 0; i < rows; i++) lines.push(`고객${i},${syntheticPhone(i)},N,N,${otp()}`);
  return lines.join('\n') + '\n';
}

/** Upload a csv through the spreadsheet API (one request; the gateway seals row by row). */
export function uploadCsv(csv, rows) {
  const res = http.post(`${BASE_URL}/v1/campaigns/${CAMPAIGN}/uploads?purpose=${PURPOSE}&format=csv`, csv, {
    headers: { 'content-type': 'text/csv; charset=utf-8', ...AUTH },
    tags: { name: 'uploads' },
    timeout: env('UPLOAD_TIMEOUT', '300s'),
  });
  let accepted = -1;
  try {
    accepted = Number(res.json('counts.accepted'));
  } catch {
    /* not JSON: the check below fails */
  }
  check(res, {
    'upload accepted (200)': (r) => r.status === 200,
    'upload sealed every row': () => accepted === rows,
  });
}
