// Loads the compiled addon, or reports why it is not there; core/src/aead.ts decides what to do.
'use strict';
const path = require('node:path');

let binding = null;
let loadError = null;
try {
  binding = require(path.join(__dirname, 'build', 'Release', 'aead.node'));
} catch (err) {
  loadError = err instanceof Error ? err.message : String(err);
}
module.exports = { binding, loadError };
