#include "phytoflow/app/validation.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <set>

namespace phytoflow {
namespace {

// "2026-11-26T14:00:00.123456Z": two validations in one second keep their order on the clock
// (the store's sequence decides which is newest, whatever the clocks say).
std::string NowUtcMicroseconds() {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  constexpr int64_t kMicrosPerSecond = 1'000'000;
  const std::time_t seconds = static_cast<std::time_t>(micros / kMicrosPerSecond);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  char text[48];
  std::snprintf(
      text, sizeof text, "%s.%06lldZ", date, static_cast<long long>(micros % kMicrosPerSecond));
  return text;
}

void RequireSample(const Store& store, const std::string& sample_id) {
  Check(store.FindSample(sample_id).has_value(),
        ErrorCode::kNotFound,
        "no sample '" + sample_id + "' in the store (see `phytoflow samples`)");
}

void RequireAuthor(const std::string& author) {
  Check(!author.empty(),
        ErrorCode::kInvalidInput,
        "a validation needs its author (who validates): none was given");
}

// The classes that the sample's model predictions name, in their labels and top-k.
std::set<std::string> PredictedClasses(const Store& store, const std::string& sample_id) {
  std::set<std::string> classes;
  for (const Label& label : store.Labels(sample_id)) {
    if (label.source != kLabelSourceModel) {
      continue;
    }
    classes.insert(label.name);
    for (const LabelScore& score : label.top_k) {
      classes.insert(score.name);
    }
  }
  return classes;
}

// The class name to store for `label`: the taxonomy's spelling when it knows the name, else the
// name as given when the model knows it or new classes are allowed.
std::string KnownClass(const Store& store,
                       const std::string& sample_id,
                       const std::string& label,
                       bool allow_new_class,
                       const ValidationOptions& options) {
  const Taxonomy& taxonomy = options.taxonomy != nullptr ? *options.taxonomy : DefaultTaxonomy();
  if (const Taxon* taxon = taxonomy.Find(label)) {
    return taxon->class_name;
  }
  if (allow_new_class ||
      std::find(options.model_classes.begin(), options.model_classes.end(), label) !=
          options.model_classes.end() ||
      PredictedClasses(store, sample_id).contains(label)) {
    return label;
  }
  throw Error(ErrorCode::kInvalidInput,
              "unknown class '" + label + "': neither the taxonomy (version " + taxonomy.Version() +
                  ") nor the model knows it; check the spelling, or allow a new class");
}

bool HasParticle(const Store& store, const std::string& sample_id, int64_t particle_number) {
  bool found = false;
  store.ScanParticles(sample_id,
                      {.first_number = particle_number, .last_number = particle_number},
                      [&](const Particle&) { found = true; });
  return found;
}

void RequireParticle(const Store& store, const std::string& sample_id, int64_t particle_number) {
  RequireSample(store, sample_id);
  Check(HasParticle(store, sample_id, particle_number),
        ErrorCode::kNotFound,
        "sample '" + sample_id + "' has no particle " + std::to_string(particle_number));
}

// The class each particle counts as now (ResolveLabels with the default choice; an uncertain
// particle's best guess) in the taxonomy's spelling when it knows the class (as a class given
// would be stored), for accepting them. Refuses particles without a class, naming them, and
// particle numbers the sample does not have.
std::map<int64_t, std::string> CurrentClasses(const Store& store,
                                              const std::string& sample_id,
                                              const std::set<int64_t>& numbers,
                                              const Taxonomy& taxonomy) {
  const std::vector<int64_t> listed(numbers.begin(), numbers.end());
  std::map<int64_t, std::string> classes;
  std::vector<int64_t> without;
  const std::vector<Label> labels = store.Labels(sample_id);
  const std::vector<ResolvedLabel> resolved = ResolveLabels(listed, labels, {});
  for (const ResolvedLabel& label : resolved) {
    const std::string& name = label.status == LabelStatus::kUncertain ? label.top1 : label.name;
    if (name.empty()) {
      without.push_back(label.particle_number);
    } else {
      const Taxon* taxon = taxonomy.Find(name);
      classes[label.particle_number] = taxon != nullptr ? taxon->class_name : name;
    }
  }
  if (!without.empty()) {
    // A number the sample lacks is not found (as for a class given), not a particle without one.
    std::set<int64_t> existing;
    store.ScanParticles(
        sample_id,
        {.measurements = false, .first_number = without.front(), .last_number = without.back()},
        [&](const Particle& particle) { existing.insert(particle.number); });
    for (const int64_t number : without) {
      Check(existing.contains(number),
            ErrorCode::kNotFound,
            "sample '" + sample_id + "' has no particle " + std::to_string(number));
    }
    std::string list;
    for (size_t index = 0; index < without.size() && index < 10; ++index) {
      list += (index == 0 ? "" : ", ") + std::to_string(without[index]);
    }
    throw Error(ErrorCode::kInvalidInput,
                std::to_string(without.size()) + " particle(s) have no class to accept (" + list +
                    (without.size() > 10 ? ", …" : "") + "): give them a class instead");
  }
  return classes;
}

std::vector<Label> ExpertEvents(const std::vector<Label>& history) {
  std::vector<Label> events;
  for (const Label& label : history) {
    if (label.source == kLabelSourceExpert) {
      events.push_back(label);
    }
  }
  return events;  // LabelHistory gives them by sequence
}

}  // namespace

ValidationReport ValidateParticles(Store& store,
                                   const std::string& sample_id,
                                   const ValidationRequest& request,
                                   const std::string& author,
                                   const ValidationOptions& options) {
  RequireAuthor(author);
  const std::set<int64_t> numbers(request.particle_numbers.begin(), request.particle_numbers.end());
  Check(!numbers.empty(), ErrorCode::kInvalidInput, "a validation needs particles: none given");
  Check(numbers.size() <= kMaxExpertLabelsPerAppend,
        ErrorCode::kInvalidInput,
        "expected at most " + std::to_string(kMaxExpertLabelsPerAppend) +
            " particles in one validation, found " + std::to_string(numbers.size()));
  Check(!request.accept_current || (request.label.empty() && !request.dubious),
        ErrorCode::kInvalidInput,
        "accepting the current classes excludes giving a class or marking dubious");
  Check(request.dubious || request.accept_current || !request.label.empty(),
        ErrorCode::kInvalidInput,
        "a validation needs a class, or marks the particles dubious");
  Check(request.label != kDubiousLabel,
        ErrorCode::kInvalidInput,
        "'dubious' is not a class: mark the particles dubious instead");
  RequireSample(store, sample_id);
  const std::string name =
      request.label.empty()
          ? ""
          : KnownClass(store, sample_id, request.label, request.allow_new_class, options);
  const std::map<int64_t, std::string> current =
      request.accept_current
          ? CurrentClasses(store,
                           sample_id,
                           numbers,
                           options.taxonomy != nullptr ? *options.taxonomy : DefaultTaxonomy())
          : std::map<int64_t, std::string>();

  const std::string created_at =
      options.created_at.empty() ? NowUtcMicroseconds() : options.created_at;
  ValidationReport report{.sample_id = sample_id};
  for (const int64_t number : numbers) {
    report.events.push_back(
        Label{.particle_number = number,
              .name = request.accept_current ? current.at(number) : name,
              .source = kLabelSourceExpert,
              .classification = options.classification,
              .author = author,
              .created_at = created_at,
              .status = request.dubious ? ExpertStatus::kDubious : ExpertStatus::kValidated});
  }
  const std::vector<int64_t> sequences = store.AppendExpertLabels(sample_id, report.events);
  for (size_t index = 0; index < sequences.size(); ++index) {
    report.events[index].sequence = sequences[index];
  }
  return report;
}

ValidationReport UndoValidation(Store& store,
                                const std::string& sample_id,
                                int64_t particle_number,
                                const std::string& author,
                                const UndoOptions& options) {
  RequireAuthor(author);
  RequireSample(store, sample_id);
  const std::vector<Label> events = ExpertEvents(store.LabelHistory(sample_id, particle_number));
  if (events.empty()) {
    RequireParticle(store, sample_id, particle_number);
    throw Error(ErrorCode::kConflict,
                "sample '" + sample_id + "' particle " + std::to_string(particle_number) +
                    " has no validation to undo");
  }
  const Label& newest = events.back();
  if (options.expected_sequence != 0 && options.expected_sequence != newest.sequence) {
    throw Error(ErrorCode::kConflict,
                "sample '" + sample_id + "' particle " + std::to_string(particle_number) +
                    ": expected to undo event " + std::to_string(options.expected_sequence) +
                    ", but the newest is event " + std::to_string(newest.sequence) +
                    " (changed meanwhile); nothing was written");
  }
  // The label the event's classification had before it: its previous event there, if any.
  const Label* previous = nullptr;
  for (const Label& event : events) {
    if (event.classification == newest.classification && event.sequence < newest.sequence) {
      previous = &event;
    }
  }
  Label undo{.particle_number = particle_number,
             .source = kLabelSourceExpert,
             .classification = newest.classification,
             .author = author,
             .created_at = options.created_at.empty() ? NowUtcMicroseconds() : options.created_at,
             .status = ExpertStatus::kWithdrawn,
             .undoes = newest.sequence};
  if (previous != nullptr && previous->status != ExpertStatus::kWithdrawn) {
    undo.name = previous->name;
    undo.status = previous->status;
    undo.restores = ExpertPrecedence(*previous);
  }
  // The store refuses it if another event of the particle came after the one read here.
  undo.sequence = store.AppendExpertLabels(sample_id, std::span(&undo, 1)).at(0);
  return ValidationReport{.sample_id = sample_id, .events = {undo}};
}

std::string_view HistoryEventKind(const Label& label) {
  if (label.source != kLabelSourceExpert) {
    return "label";
  }
  if (label.undoes != 0) {
    return "undo";
  }
  switch (label.status) {
    case ExpertStatus::kDubious:
      return "dubious";
    case ExpertStatus::kWithdrawn:
      return "withdraw";
    case ExpertStatus::kValidated:
      break;
  }
  return "validate";
}

ParticleHistoryReport ParticleHistory(const Store& store,
                                      const std::string& sample_id,
                                      int64_t particle_number) {
  RequireParticle(store, sample_id, particle_number);
  ParticleHistoryReport report{.sample_id = sample_id, .particle_number = particle_number};
  std::vector<Label> current;
  for (Label& label : store.Labels(sample_id)) {
    if (label.particle_number == particle_number) {
      current.push_back(std::move(label));
    }
  }
  for (Label& label : store.LabelHistory(sample_id, particle_number)) {
    const bool is_current = std::find(current.begin(), current.end(), label) != current.end();
    if (label.source == kLabelSourceExpert) {
      report.newest_sequence = std::max(report.newest_sequence, label.sequence);
    }
    const std::string_view kind = HistoryEventKind(label);
    report.entries.push_back({.label = std::move(label), .kind = kind, .current = is_current});
  }
  const std::vector<int64_t> numbers = {particle_number};
  report.resolved = ResolveLabels(numbers, current, {}).at(0);
  return report;
}

}  // namespace phytoflow
