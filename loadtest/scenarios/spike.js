// spike: a burst of MESSAGES single messages as fast as VUS virtual users can send them,
// while one ROWS-row csv (default 100,000) is uploaded through the spreadsheet API.
import exec from 'k6/execution';
import { num, env, sendOne, syntheticCsv, thresholds, uploadCsv } from './lib.js';

const ROWS = num('ROWS', 100000);
const MESSAGES = num('MESSAGES', 20000);
const scenarios = {};
if (MESSAGES > 0)
  scenarios.burst = {
    executor: 'shared-iterations',
    exec: 'burst',
    vus: num('VUS', 50),
    iterations: MESSAGES,
    maxDuration: env('DURATION', '10m'),
  };
if (ROWS > 0)
  scenarios.upload = {
    executor: 'shared-iterations',
    exec: 'upload',
    vus: 1,
    iterations: 1,
    maxDuration: env('DURATION', '10m'),
  };

export const options = {
  scenarios,
  // A burst queues by design: the latency bars are looser than steady's. The upload is one long
  // request, so the latency thresholds apply to the message API only.
  thresholds: thresholds(1000, 2000, 'http_req_duration{name:messages}'),
};

export function burst() {
  // Numbers for the burst start after the csv's, so the two never share a recipient.
  sendOne(ROWS + exec.scenario.iterationInTest);
}

export function upload() {
  // Built by the one upload VU (not in setup, whose data k6 would copy into every VU).
  uploadCsv(syntheticCsv(ROWS), ROWS);
}
