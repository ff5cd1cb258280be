// The statically linked programs have the table libraries linked in.
#include "util/table_libraries.hpp"

namespace kurir::util {

namespace {
const Result<void> kLinked{};
}

const Result<void>& load_berkeley_db() { return kLinked; }
const Result<void>& load_lmdb() { return kLinked; }
const Result<void>& load_cdb() { return kLinked; }

}  // namespace kurir::util
