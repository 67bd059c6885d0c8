#pragma once

// The phytoflow command line: one Add*Command per verb, wired in main.cpp. Commands parse
// options, call one app-layer use case, and print; no business logic lives here.

#include "phytoflow/storage/store.h"

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace phytoflow {

// Exit codes, documented in `phytoflow --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,      // a bug or unexpected failure
  kExitUsage = 2,         // bad command line
  kExitInvalidInput = 3,  // a malformed export or option value
  kExitNotFound = 4,      // no such file, folder or sample
  kExitConflict = 5,      // clashes with what is stored
  kExitUnavailable = 6,   // the store, a model or the device cannot be used right now
};

// Opens the store named by --store ("PATH", "sqlite:PATH" or "mongodb://...").
std::unique_ptr<Store> OpenStore(const std::string& uri);

// Adds `--store URI` to a command.
void AddStoreOption(CLI::App& command, std::string& store_uri);

void AddIngestCommand(CLI::App& app);
void AddSamplesCommand(CLI::App& app);
void AddShowCommand(CLI::App& app);
void AddVignettesCommand(CLI::App& app);
// train (with LibTorch only), evaluate, predict, classify.
void AddModelCommands(CLI::App& app);
// metadata set|import|show.
void AddMetadataCommands(CLI::App& app);
// report (composition) and taxonomy show|check.
void AddReportCommands(CLI::App& app);
// export dwca|ecotaxa, import ecotaxa.
void AddExchangeCommands(CLI::App& app);
// store copy|gc.
void AddStoreCommands(CLI::App& app);
// serve: the HTTP service.
void AddServeCommand(CLI::App& app);
// token create|list|revoke: API tokens of the HTTP service.
void AddTokenCommands(CLI::App& app);
// validate (set label, dubious, undo) and history.
void AddValidateCommands(CLI::App& app);
// indicators ph1|ph2|ph3|series: the OSPAR pelagic-habitat indicators.
void AddIndicatorCommands(CLI::App& app);

}  // namespace phytoflow
