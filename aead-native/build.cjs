// Runs at `npm ci`: compiles the addon with node-gyp (npm's own copy). A machine without a C
// toolchain still installs: the envelope then uses node:crypto, correct but ~10x slower per
// seal, and says so (core/src/aead.ts). ANSHIM_AEAD=native makes that a hard error instead.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const gyp = process.env.npm_config_node_gyp;
const command = gyp ? [process.execPath, gyp, 'rebuild'] : ['node-gyp', 'rebuild'];
// node-gyp downloads Node's headers unless told where they are; a machine that reaches only the
// package registries cannot, so use the headers installed next to this node when it has them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include/node/node_api.h'))) {
  command.push(`--nodedir=${prefix}`);
}
const result = spawnSync(command[0], command.slice(1), { cwd: __dirname, stdio: 'inherit' });
if (result.status !== 0) {
  const required = process.env.ANSHIM_AEAD === 'native';
  console.error(
    `[aead-native] build failed (${result.error?.message ?? `exit ${result.status}`}); ` +
      (required
        ? 'ANSHIM_AEAD=native requires it'
        : 'envelopes will use node:crypto (install python3, make and a C compiler for the fast path)'),
  );
  process.exit(required ? 1 : 0);
}
