#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so there is no build step to remember.
import { register } from 'tsx/esm/api';

// Orchard runs on Node.js 24, which `npm ci` installs into node_modules/.bin (the `node` package); npm scripts
// and npx put it first on PATH. Started by an older `node` directly, say how to use the right one.
if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(
    `orchard: this is Node.js ${process.version}; Orchard runs on the Node.js 24 that npm installed: use \`npm start\`, ` +
      '`npm run orchard -- <command>`, `npx orchard <command>` or `node_modules/.bin/node bin/orchard.js <command>`.',
  );
}
register();
await import('../src/main.ts');
