// Types of src/core/better-sqlite3.cjs: the better-sqlite3 API (@types/better-sqlite3;
// releases 12 and 13 share it, 13 adds Statement.explain and toString).
import Database = require('better-sqlite3');
export = Database;
