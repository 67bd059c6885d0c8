// phytoflow: FlowCam exports → validated taxonomic composition. This is the composition root:
// it wires the commands to the store adapters and maps failures to exit codes.

#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"

#include <iostream>

#include <CLI/CLI.hpp>

namespace {

constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  internal error (a bug; please report it)\n"
    "  2  bad command line\n"
    "  3  invalid input: a malformed export file or option value (the message names file, line, "
    "field)\n"
    "  4  not found: no such file, folder or sample\n"
    "  5  conflict with what is stored\n"
    "  6  unavailable: the store, a model or the device cannot be used (locked, full, "
    "unreachable,\n"
    "     no CUDA, or built without LibTorch)\n"
    "A failed ingest leaves the store as it was before the failing run.";

int ExitCodeFor(phytoflow::ErrorCode code) {
  switch (code) {
    case phytoflow::ErrorCode::kInvalidInput:
      return phytoflow::kExitInvalidInput;
    case phytoflow::ErrorCode::kNotFound:
      return phytoflow::kExitNotFound;
    case phytoflow::ErrorCode::kConflict:
      return phytoflow::kExitConflict;
    case phytoflow::ErrorCode::kUnavailable:
      return phytoflow::kExitUnavailable;
    case phytoflow::ErrorCode::kInternal:
      return phytoflow::kExitInternal;
  }
  return phytoflow::kExitInternal;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"phytoflow: FlowCam exports to validated taxonomic composition and FAIR data"};
  app.footer(kExitCodeHelp);
  app.set_version_flag("--version", std::string(phytoflow::Version()));
  app.require_subcommand(1);
  phytoflow::AddIngestCommand(app);
  phytoflow::AddSamplesCommand(app);
  phytoflow::AddShowCommand(app);
  phytoflow::AddVignettesCommand(app);
  phytoflow::AddModelCommands(app);
  phytoflow::AddMetadataCommands(app);
  phytoflow::AddReportCommands(app);
  phytoflow::AddExchangeCommands(app);
  phytoflow::AddStoreCommands(app);
  phytoflow::AddServeCommand(app);
  phytoflow::AddTokenCommands(app);
  phytoflow::AddValidateCommands(app);
  phytoflow::AddIndicatorCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? phytoflow::kExitOk : phytoflow::kExitUsage;
  } catch (const phytoflow::Error& error) {
    std::cerr << "phytoflow: error: " << error.what() << "\n";
    return ExitCodeFor(error.Code());
  } catch (const std::exception& error) {
    std::cerr << "phytoflow: internal error: " << error.what() << "\n";
    return phytoflow::kExitInternal;
  }
  return phytoflow::kExitOk;
}
