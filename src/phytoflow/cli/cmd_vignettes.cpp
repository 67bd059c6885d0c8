#include "phytoflow/app/vignettes.h"
#include "phytoflow/cli/commands.h"

#include <fmt/core.h>

namespace phytoflow {
namespace {

struct VignetteArguments {
  std::string sample_id;
  std::string out;
  std::string store;
};

}  // namespace

void AddVignettesCommand(CLI::App& app) {
  auto arguments = std::make_shared<VignetteArguments>();
  CLI::App* command =
      app.add_subcommand("vignettes", "Write one PNG per particle of a sample, named by its GUID");
  command->add_option("SAMPLE", arguments->sample_id, "Sample id")->required();
  command->add_option("--out", arguments->out, "Folder to write into (created if needed)")
      ->required();
  AddStoreOption(*command, arguments->store);
  command->callback([arguments] {
    const std::unique_ptr<Store> store = OpenStore(arguments->store);
    const VignetteExport result = ExportVignettes(*store, arguments->sample_id, arguments->out);
    fmt::print(
        "wrote {} vignettes to {}{}\n",
        result.written,
        arguments->out,
        result.missing > 0 ? fmt::format(" ({} particles have no image)", result.missing) : "");
  });
}

}  // namespace phytoflow
