// `npm start`: the main job. For now it brings up the local stack and prints its endpoints;
// it grows into a whole campaign (operator, workers, simulators, gateway) as those land.
import { printEndpoints, up } from '@anshim/stack';

const state = await up((line) => console.log(`[stack] ${line}`));
printEndpoints(state);
