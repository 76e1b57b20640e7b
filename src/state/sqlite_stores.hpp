// sqlite_stores: the SQLite implementation of each concern, over one shared Database.
// Each concern owns its tables (its schema is run when the file is opened for writing).
#pragma once

#include "state/greylist_store.hpp"
#include "state/offender_store.hpp"
#include "state/primary_status_store.hpp"
#include "state/sqlite_database.hpp"
#include "state/verify_store.hpp"

#include <memory>

namespace backstop::state {

extern const char* const sqlite_verify_schema;
std::unique_ptr<VerifyStore> make_sqlite_verify_store(Database& db);

extern const char* const sqlite_greylist_schema;
std::unique_ptr<GreylistStore> make_sqlite_greylist_store(Database& db);

extern const char* const sqlite_offender_schema;
std::unique_ptr<OffenderStore> make_sqlite_offender_store(Database& db);

extern const char* const sqlite_primary_status_schema;
std::unique_ptr<PrimaryStatusStore> make_sqlite_primary_status_store(Database& db);

} // namespace backstop::state
