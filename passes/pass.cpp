// Exactness names and the Counters every pass reports into.
#include "passes/pass.h"

#include <algorithm>

namespace evoc::passes {

std::string_view exactness_name(Exactness e) {
  switch (e) {
    case Exactness::Exact: return "exact";
    case Exactness::RoundingChanging: return "rounding-changing";
    case Exactness::Lossy: return "lossy";
  }
  return "?";
}

Counters::Entry& Counters::slot(std::string_view name, bool is_max) {
  for (Entry& e : entries_)
    if (e.name == name) return e;
  return entries_.emplace_back(Entry{std::string(name), 0.0, is_max});
}

void Counters::add(std::string_view name, double amount) {
  if (amount != 0) slot(name, false).value += amount;
}

void Counters::record_max(std::string_view name, double value) {
  Entry& e = slot(name, true);
  e.value = std::max(e.value, value);
}

void Counters::merge(const Counters& other) {
  for (const Entry& e : other.entries_) {
    if (e.is_max)
      record_max(e.name, e.value);
    else
      add(e.name, e.value);
  }
}

double Counters::get(std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return e.value;
  return 0.0;
}

}  // namespace evoc::passes
