// validate: an expert gives particles a class, marks them dubious, or undoes the newest change of
// a particle, without the web UI; history: every label a particle has had. See
// docs/validation.md.

#include "phytoflow/app/validation.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/default_model.h"
#include "phytoflow/core/error.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#ifdef PHYTOFLOW_WITH_TORCH
#include "phytoflow/classify/torch/torch_model.h"
#endif

namespace phytoflow {
namespace {

using Json = nlohmann::json;

struct ValidateArguments {
  std::string sample_id;
  std::string particles;  // "1,5-9"
  std::string label;
  bool dubious = false;
  bool accept = false;
  std::optional<int64_t> undo;  // particle number
  int64_t expect = 0;           // --expect SEQ for --undo
  std::string author;
  bool new_class = false;
  std::string taxonomy;
  std::string model;
  std::string store;
  bool json = false;
};

struct HistoryArguments {
  std::string sample_id;
  int64_t particle_number = 0;
  std::string store;
  bool json = false;
};

int64_t ParseParticleNumber(std::string_view text, std::string_view list) {
  int64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [after, error] = std::from_chars(text.data(), end, number);
  if (text.empty() || error != std::errc() || after != end || number < 1) {
    throw Error(
        ErrorCode::kInvalidInput,
        "--particles: expected particle numbers (1 or more) and ranges like 1,5-9, found '" +
            std::string(text) + "' in '" + std::string(list) + "'");
  }
  return number;
}

// "1,5-9" → {1, 5, 6, 7, 8, 9}. Refuses more numbers than one validation takes before expanding
// a range, so "1-999999999" costs nothing.
std::vector<int64_t> ParseParticles(const std::string& list) {
  std::set<int64_t> numbers;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) {
      comma = list.size();
    }
    const std::string_view item = std::string_view(list).substr(start, comma - start);
    const size_t dash = item.find('-');
    const int64_t first = ParseParticleNumber(item.substr(0, dash), list);
    const int64_t last =
        dash == std::string_view::npos ? first : ParseParticleNumber(item.substr(dash + 1), list);
    if (last < first) {
      throw Error(ErrorCode::kInvalidInput,
                  "--particles: range '" + std::string(item) + "' ends before it starts");
    }
    if (last - first >= static_cast<int64_t>(kMaxExpertLabelsPerAppend)) {
      throw Error(ErrorCode::kInvalidInput,
                  "--particles: expected at most " + std::to_string(kMaxExpertLabelsPerAppend) +
                      " particles in one validation, found the range '" + std::string(item) + "'");
    }
    for (int64_t number = first; number <= last; ++number) {
      numbers.insert(number);
    }
    start = comma + 1;
  }
  return {numbers.begin(), numbers.end()};
}

// --author, else the login name: a validation always says who made it.
std::string Author(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  for (const char* variable : {"PHYTOFLOW_AUTHOR", "USER", "LOGNAME"}) {
    if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') {
      return value;
    }
  }
  throw Error(ErrorCode::kInvalidInput,
              "give --author NAME (no $PHYTOFLOW_AUTHOR, $USER or $LOGNAME to take it from)");
}

// The classes of --model, else of the default model when there is one: a class the model knows
// may be given even when the taxonomy does not know it.
std::vector<std::string> ModelClasses(const std::string& model) {
#ifdef PHYTOFLOW_WITH_TORCH
  const std::string path = model.empty() ? DefaultModelPath() : model;
  if (model.empty() && !std::filesystem::exists(path)) {
    return {};
  }
  return ReadModelInfo(path).ClassNames();
#else
  Check(model.empty(),
        ErrorCode::kUnavailable,
        "--model: this phytoflow was built without LibTorch (PHYTOFLOW_WITH_TORCH=OFF) and cannot "
        "read model files");
  return {};
#endif
}

Json LabelJson(const Label& label, std::string_view kind) {
  Json json = {{"kind", kind},
               {"particle_number", label.particle_number},
               {"name", label.name},
               {"source", label.source},
               {"classification", label.classification},
               {"author", label.author},
               {"created_at", label.created_at}};
  if (label.source == kLabelSourceExpert) {
    json["sequence"] = label.sequence;
    json["status"] = ExpertStatusName(label.status);
    json["undoes"] = label.undoes != 0 ? Json(label.undoes) : Json(nullptr);
  } else {
    json["probability"] = label.probability ? Json(*label.probability) : Json(nullptr);
  }
  return json;
}

void PrintReport(const ValidationReport& report, bool json) {
  if (json) {
    Json events = Json::array();
    for (const Label& event : report.events) {
      events.push_back(LabelJson(event, HistoryEventKind(event)));
    }
    std::cout << Json{{"sample_id", report.sample_id}, {"events", events}}.dump(2) << "\n";
    return;
  }
  for (const Label& event : report.events) {
    const std::string what = event.status == ExpertStatus::kWithdrawn ? "no label"
                             : event.status == ExpertStatus::kDubious
                                 ? "dubious" + (event.name.empty() ? "" : " (" + event.name + ")")
                                 : event.name;
    fmt::print("{} particle {}: {} by {} (event {}{})\n",
               report.sample_id,
               event.particle_number,
               what,
               event.author,
               event.sequence,
               event.undoes != 0 ? ", undoes event " + std::to_string(event.undoes) : "");
  }
}

void Validate(const ValidateArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const std::string author = Author(arguments.author);
  if (arguments.undo) {
    PrintReport(UndoValidation(*store,
                               arguments.sample_id,
                               *arguments.undo,
                               author,
                               {.expected_sequence = arguments.expect}),
                arguments.json);
    return;
  }
  std::optional<Taxonomy> loaded;
  if (!arguments.taxonomy.empty()) {
    loaded = LoadTaxonomy(arguments.taxonomy);
  }
  const ValidationOptions options{.taxonomy = loaded ? &*loaded : nullptr,
                                  .model_classes = arguments.label.empty()
                                                       ? std::vector<std::string>()
                                                       : ModelClasses(arguments.model)};
  PrintReport(ValidateParticles(*store,
                                arguments.sample_id,
                                {.particle_numbers = ParseParticles(arguments.particles),
                                 .label = arguments.label,
                                 .dubious = arguments.dubious,
                                 .accept_current = arguments.accept,
                                 .allow_new_class = arguments.new_class},
                                author,
                                options),
              arguments.json);
}

void History(const HistoryArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const ParticleHistoryReport report =
      ParticleHistory(*store, arguments.sample_id, arguments.particle_number);
  const ResolvedLabel& resolved = report.resolved;
  if (arguments.json) {
    Json entries = Json::array();
    for (const HistoryEntry& entry : report.entries) {
      Json json = LabelJson(entry.label, entry.kind);
      json["current"] = entry.current;
      entries.push_back(std::move(json));
    }
    const Json json = {
        {"sample_id", report.sample_id},
        {"particle_number", report.particle_number},
        {"label",
         {{"name", resolved.name.empty() ? Json(nullptr) : Json(resolved.name)},
          {"status", LabelStatusName(resolved.status)},
          {"dubious", resolved.dubious},
          {"identified_by", resolved.identified_by}}},
        {"newest_sequence", report.newest_sequence != 0 ? Json(report.newest_sequence) : Json()},
        {"history", entries}};
    std::cout << json.dump(2) << "\n";
    return;
  }
  fmt::print("{} particle {}: {} ({}{}{})\n",
             report.sample_id,
             report.particle_number,
             resolved.name.empty() ? "-" : resolved.name,
             LabelStatusName(resolved.status),
             resolved.dubious ? ", marked dubious" : "",
             resolved.identified_by.empty() ? "" : ", by " + resolved.identified_by);
  for (const HistoryEntry& entry : report.entries) {
    const Label& label = entry.label;
    const std::string event =
        label.source == kLabelSourceExpert ? "#" + std::to_string(label.sequence) : "";
    fmt::print("  {:<8} {:<27} {:<9} {:<22} {:<24} {}{}\n",
               event,
               label.created_at,
               entry.kind,
               label.source + "/" + label.classification,
               label.name.empty() ? "-" : label.name,
               label.author,
               entry.current ? "  (current)" : "");
  }
}

}  // namespace

void AddValidateCommands(CLI::App& app) {
  auto validate_arguments = std::make_shared<ValidateArguments>();
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Validate particles as an expert: give them a class, mark them dubious, or undo the newest "
      "change of one (docs/validation.md)");
  validate
      ->add_option("SAMPLE", validate_arguments->sample_id, "Sample id (see `phytoflow samples`)")
      ->required();
  CLI::Option* particles =
      validate->add_option("--particles", validate_arguments->particles, "Particle numbers: 1,5-9");
  CLI::Option* label = validate->add_option(
      "--label",
      validate_arguments->label,
      "The class (a taxonomy or model class; with --dubious: the class doubted)");
  CLI::Option* dubious =
      validate->add_flag("--dubious", validate_arguments->dubious, "Mark the particles dubious");
  CLI::Option* accept = validate->add_flag(
      "--accept",
      validate_arguments->accept,
      "Validate each particle with the class it has now (the model's; an uncertain one's best "
      "guess), as the web UI's v");
  CLI::Option* undo = validate->add_option(
      "--undo", validate_arguments->undo, "Undo the newest change of this particle");
  CLI::Option* expect = validate->add_option(
      "--expect",
      validate_arguments->expect,
      "With --undo: undo only if the newest change is this event (its sequence number)");
  validate->add_option(
      "--author", validate_arguments->author, "Who validates (default: $PHYTOFLOW_AUTHOR, $USER)");
  CLI::Option* new_class = validate->add_flag(
      "--new-class", validate_arguments->new_class, "Accept a class the taxonomy and model lack");
  CLI::Option* taxonomy = validate->add_option(
      "--taxonomy", validate_arguments->taxonomy, "Taxonomy TSV (default: the built-in one)");
  CLI::Option* model =
      validate->add_option("--model",
                           validate_arguments->model,
                           "Model whose classes are known (default: the default model, if any)");
  AddStoreOption(*validate, validate_arguments->store);
  validate->add_flag("--json", validate_arguments->json, "Print the events written as JSON");
  undo->excludes(particles)->excludes(label)->excludes(dubious)->excludes(new_class);
  accept->excludes(label)->excludes(dubious)->excludes(undo);
  undo->excludes(taxonomy)->excludes(model);
  expect->needs(undo);
  validate->callback([validate_arguments, particles, label, dubious, accept, undo] {
    Check(undo->count() > 0 || particles->count() > 0,
          ErrorCode::kInvalidInput,
          "give --particles LIST with --label NAME, --dubious or --accept, or --undo PARTICLE");
    Check(undo->count() > 0 || label->count() > 0 || dubious->count() > 0 || accept->count() > 0,
          ErrorCode::kInvalidInput,
          "give --label NAME, --dubious or --accept with --particles");
    Validate(*validate_arguments);
  });

  auto history_arguments = std::make_shared<HistoryArguments>();
  CLI::App* history = app.add_subcommand(
      "history",
      "Every label a particle has had (predictions, validations, undos) and its label now");
  history->add_option("SAMPLE", history_arguments->sample_id, "Sample id (see `phytoflow samples`)")
      ->required();
  history->add_option("PARTICLE", history_arguments->particle_number, "Particle number")
      ->required();
  AddStoreOption(*history, history_arguments->store);
  history->add_flag("--json", history_arguments->json, "Print a JSON object");
  history->callback([history_arguments] { History(*history_arguments); });
}

}  // namespace phytoflow
