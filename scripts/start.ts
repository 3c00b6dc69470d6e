// `npm start`: the main job, end to end on this machine. Brings up the local stack, the
// carrier simulators, the operator, a local runner for worker Deployments and the gateway;
// applies examples/campaign.yaml, uploads examples/recipients.xlsx, shows progress until the
// campaign is delivered and its data shredded, prints the summary and the certificate, and
// leaves everything running for exploration until Ctrl-C (which stops what it started).
import { parseArgs } from 'node:util';
import { runQuickStart } from './quickstart/run.ts';

const { values } = parseArgs({
  options: {
    'exit-when-done': { type: 'boolean', default: false },
    retention: { type: 'string', default: '10s' },
  },
});
await runQuickStart({ exitWhenDone: values['exit-when-done']!, retention: values.retention! });
