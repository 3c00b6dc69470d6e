// soak: a lower constant rate held for a long time (RATE req/s for DURATION, default 50/s for 5m).
import exec from 'k6/execution';
import { num, env, sendOne, thresholds } from './lib.js';

const RATE = num('RATE', 50);

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: env('DURATION', '5m'),
      preAllocatedVUs: num('VUS', Math.max(10, Math.ceil(RATE / 4))),
      maxVUs: num('MAX_VUS', Math.max(50, RATE * 2)),
    },
  },
  thresholds: thresholds(250, 500),
};

export default function () {
  sendOne(exec.scenario.iterationInTest);
}
