'use strict';
// The reward sandbox engine for the running Node: `import ivm from '#isolated-vm'`.
// Which isolated-vm release that is: src/core/native-packages.cjs.
module.exports = require('./native-packages.cjs').loadNative('isolated-vm');
