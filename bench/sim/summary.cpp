#include "bench/sim/summary.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace sim {

std::string summary_header() {
  return "mode,nodes,fanout,slow_fraction,fail_fraction,completed,last_s,median_s,last_normal_s,source_copies,events,"
         "wall_s";
}

std::string summary_row(const RunLabel& label, const std::vector<Host>& hosts, const Scenario& sc, const Result& r,
                        double wall_s) {
  std::vector<double> all;
  double last_normal = 0;  // the slowest node on a normal link
  for (std::size_t i = 0; i < r.loaded.size(); ++i) {
    if (std::isnan(r.loaded[i])) continue;
    all.push_back(r.loaded[i]);
    if (!hosts[i].slow) last_normal = std::max(last_normal, r.loaded[i]);
  }
  std::sort(all.begin(), all.end());
  const double last = all.empty() ? NAN : all.back();
  const double median = all.empty() ? NAN : all[all.size() / 2];
  std::ostringstream o;
  o.precision(6);
  o << label.mode << ',' << label.nodes << ',' << label.fanout << ',' << label.slow_fraction << ','
    << label.fail_fraction << ',' << all.size() << ',' << last << ',' << median << ',' << last_normal << ','
    << r.source_bytes / static_cast<double>(sc.bytes) << ',' << r.events << ',' << wall_s;
  return o.str();
}

}  // namespace sim
