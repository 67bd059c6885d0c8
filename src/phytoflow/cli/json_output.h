#pragma once

// JSON views of what the commands print with --json. They live in the server layer
// (server/json_views.h), so that `--json` and the HTTP API print the same keys.

#include "phytoflow/server/json_views.h"
