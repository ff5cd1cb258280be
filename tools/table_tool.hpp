// What kurir-map (postmap) and kurir-alias (postalias) share: build
// TYPE:FILE into FILE.db from its source, or -q look a key up.
#pragma once

namespace kurir::tools {

enum class TableSyntax { map, aliases };
int table_tool_main(int argc, char** argv, TableSyntax syntax);

}  // namespace kurir::tools
