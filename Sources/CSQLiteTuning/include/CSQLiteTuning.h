#ifndef CSQLITETUNING_H
#define CSQLITETUNING_H

/// Process-wide SQLite settings that only `sqlite3_config` (a variadic C function Swift cannot call) can make, and
/// only before SQLite initializes (the first connection opened in the process). Returns SQLite's result code:
/// SQLITE_OK, or SQLITE_MISUSE when SQLite had already initialized (the settings then stay SQLite's defaults).
///
/// What it sets: SQLITE_CONFIG_MEMSTATUS off. SQLite's memory statistics take a process-wide mutex around every
/// sqlite3_malloc and sqlite3_free (about 60 of each per ledger row); nothing here reads those statistics.
int hsl_sqlite_configure(void);

#endif
