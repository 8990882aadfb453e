'use strict';
// SQLite for the running Node: `import Database from '#better-sqlite3'`.
// Which better-sqlite3 release that is: src/core/native-packages.cjs.
module.exports = require('./native-packages.cjs').loadNative('better-sqlite3');
