// `npm run loadtest -- <steady|spike|soak> [flags]`: brings the local stack up if it is not,
// starts a platform of its own (simulators, operator, local runner, gateway, one transactional
// campaign), runs the k6 scenario against the gateway, writes k6's summary under
// .stack/loadtest/<stamp>/, prints the key figures and how many messages the platform
// delivered end to end, and stops what it started. Exit code: 0 when every threshold passed.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { down, repoRoot, requireStack, stateDir, status, up } from '@anshim/dev-platform';
import { startPlatform, type CampaignCounts, type Platform } from './platform.ts';
import { TREND_STATS, formatFigures, readFigures, type Figures } from './summary.ts';

const SCENARIOS = ['steady', 'spike', 'soak'] as const;
type Scenario = (typeof SCENARIOS)[number];
const say = (line: string) => console.log(`[loadtest] ${line}`);

const USAGE = `usage: npm run loadtest -- <${SCENARIOS.join('|')}> [--rate n] [--duration 60s] [--vus n]
    [--messages n] [--rows n]            spike: single messages in the burst, csv rows uploaded
    [--p95 ms] [--p99 ms]                latency thresholds (defaults: 250/500, spike 1000/2000)
    [--max-error-rate 0.01]              http_req_failed threshold
    [--drain-timeout 60s]                how long to wait for delivery reports after k6
    [--out dir]                          where the summary goes (default .stack/loadtest/<stamp>)
    [--base-url url --campaign ns.name]  run k6 only, against a gateway that is already up
    [--token-file path]                  with --base-url: the sender's ServiceAccount token (or env ANSHIM_TOKEN)`;

export interface Result {
  scenario: Scenario;
  dir: string;
  summaryFile: string;
  k6ExitCode: number;
  figures: Figures;
  campaign?: { id: string; phase?: string; counts?: CampaignCounts };
}

function seconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text} (e.g. 90s, 5m)`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

function runK6(
  script: string,
  env: Record<string, string>,
  summaryFile: string,
  token: string | undefined,
): Promise<number> {
  const args = ['run', '--no-color', '--summary-export', summaryFile, '--summary-trend-stats', TREND_STATS];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  // k6 prints its progress and end-of-test summary (metrics only; request bodies are never logged).
  // The token goes by environment (k6 reads it into __ENV), never by argument: argv is public.
  const child = spawn(requireStack().tools.k6, [...args, script], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, ...(token ? { TOKEN: token } : {}) },
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      vus: { type: 'string' },
      messages: { type: 'string' },
      rows: { type: 'string' },
      p95: { type: 'string' },
      p99: { type: 'string' },
      'max-error-rate': { type: 'string' },
      'drain-timeout': { type: 'string', default: '60s' },
      out: { type: 'string' },
      'base-url': { type: 'string' },
      campaign: { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const scenario = positionals[0] as Scenario | undefined;
  if (values.help || !scenario || !SCENARIOS.includes(scenario) || (values['base-url'] && !values.campaign)) {
    console.error(USAGE);
    return 2;
  }
  const drainMs = seconds(values['drain-timeout']) * 1000;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = values.out ?? join(stateDir(), 'loadtest', `${stamp}-${scenario}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const wasUp = (await status()).every((s) => s.healthy);
  let platform: Platform | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await platform?.stop();
      if (!values['base-url'] && !wasUp) await down({ keep: true });
    })());
  const onSignal = (code: number) => () => void stopAll().then(() => process.exit(code));
  process.once('SIGINT', onSignal(130));
  process.once('SIGTERM', onSignal(143));

  try {
    let baseUrl = values['base-url'];
    let campaignId = values.campaign;
    let token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : process.env.ANSHIM_TOKEN;
    if (!baseUrl) {
      if (!wasUp) await up((line) => console.log(`[stack] ${line}`));
      const rate = Number(values.rate ?? 200);
      platform = await startPlatform({
        namespace: `loadtest-${stamp}`,
        dir,
        // Sizes the campaign topic's partitions: room for the offered rate, and for a spike.
        messagesPerSecond: Math.max(1000, rate * 2),
        say,
      });
      baseUrl = platform.gatewayUrl;
      campaignId = platform.campaignId;
      token = platform.token;
    }

    const env: Record<string, string> = {
      BASE_URL: baseUrl,
      CAMPAIGN: campaignId!,
      RUN_ID: stamp,
    };
    const flags = { rate: 'RATE', duration: 'DURATION', vus: 'VUS', messages: 'MESSAGES', rows: 'ROWS' } as const;
    for (const [flag, name] of Object.entries(flags)) {
      const v = values[flag as keyof typeof flags];
      if (v !== undefined) env[name] = v;
    }
    if (values.p95) env.P95_MS = values.p95;
    if (values.p99) env.P99_MS = values.p99;
    if (values['max-error-rate']) env.MAX_ERROR_RATE = values['max-error-rate'];
    const summaryFile = join(dir, 'summary.json');
    say(`k6 ${scenario} against ${baseUrl} (campaign ${campaignId}); summary → ${summaryFile}`);
    const k6ExitCode = await runK6(join(repoRoot, `loadtest/scenarios/${scenario}.js`), env, summaryFile, token);
    const figures = readFigures(
      summaryFile,
      scenario === 'spike' ? 'http_req_duration{name:messages}' : 'http_req_duration',
    );
    const result: Result = { scenario, dir, summaryFile, k6ExitCode, figures };

    if (platform) {
      // End to end: what the operator counted on the campaign's topic and from the carriers' reports.
      // Accepted = answered without error; a spike's upload is one request carrying its rows.
      const rows = scenario === 'spike' ? Number(values.rows ?? 100_000) : 0;
      const accepted = Math.round(figures.requests * (1 - figures.errorRate)) + (rows > 0 ? rows - 1 : 0);
      const deadline = Date.now() + drainMs;
      let c = await platform.campaign();
      for (;;) {
        const counts = c.status?.counts;
        const queued = counts?.queued ?? 0;
        const final = (counts?.delivered ?? 0) + (counts?.failed ?? 0);
        if (queued >= accepted && final >= queued) break;
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
        c = await platform.campaign();
      }
      result.campaign = { id: platform.campaignId, phase: c.status?.phase, counts: c.status?.counts };
    }
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2), { mode: 0o600 });

    console.log(`\nLoad test ${scenario}: thresholds ${figures.thresholdsPassed ? 'passed' : 'FAILED'}`);
    console.log(formatFigures(figures));
    const counts = result.campaign?.counts;
    if (result.campaign)
      console.log(
        `end to end      queued ${counts?.queued ?? 0}  sent ${counts?.sent ?? 0}  delivered ${counts?.delivered ?? 0}` +
          `  failed ${counts?.failed ?? 0} (${JSON.stringify(counts?.failedByResult ?? {})})  campaign ${result.campaign.phase}`,
      );
    console.log(`summary         ${summaryFile}\nresult          ${join(dir, 'result.json')}`);
    return k6ExitCode === 0 && figures.thresholdsPassed ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[loadtest] failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
