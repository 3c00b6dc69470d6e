// steady: a constant arrival rate on the single-message API (RATE req/s for DURATION).
import exec from 'k6/execution';
import { num, env, sendOne, thresholds } from './lib.js';

const RATE = num('RATE', 200);

export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: env('DURATION', '60s'),
      preAllocatedVUs: num('VUS', Math.max(10, Math.ceil(RATE / 4))),
      maxVUs: num('MAX_VUS', Math.max(50, RATE * 2)),
    },
  },
  thresholds: thresholds(250, 500),
};

export default function () {
  sendOne(exec.scenario.iterationInTest);
}
