// ragbench: the load tool for ragd (see bench/README.md). Parses flags, runs closed-loop
// steps, open-loop rates or a soak against one URL, and prints the table; writes JSON,
// Markdown and an SVG chart on request.
#include "ragbench/flag_values.hpp"
#include "ragbench/load_client.hpp"
#include "ragbench/metrics_scrape.hpp"
#include "ragbench/proc_stats.hpp"
#include "ragbench/redis_stats.hpp"
#include "ragbench/report.hpp"
#include "ragbench/scenario.hpp"
#include "ragbench/soak.hpp"
#include "ragbench/soak_sampler.hpp"
#include "ragbench/svg_chart.hpp"

#include "ragd/core/cli.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace ragd::bench;
using std::chrono::milliseconds;

const std::vector<ragd::FlagSpec> kFlags = {
    {"url", true, "target base URL, http only (default http://127.0.0.1:8080)", "URL"},
    {"path", true, "request path (default: the URL's path, else /query)", "PATH"},
    {"method", true, "POST sends /query bodies from the scenario mix; GET sends none (default POST)", "METHOD"},
    {"api-key", true, "sent as Authorization: Bearer KEY", "KEY"},
    {"timeout-ms", true, "deadline of one request, connect included (default 30000)", "N"},
    {"threads", true, "I/O threads of the tool's one io_context (default 1)", "N"},
    {"seed", true, "random seed for the mix and arrivals (default: from the clock, printed)", "N"},
    {"steps", true, "closed-loop concurrency steps (default 50,100,200,300,400)", "LIST"},
    {"step-seconds", true, "measured length of each step or rate (default 10s)", "DURATION"},
    {"warmup-seconds", true, "unmeasured warm-up before each step (default 2s)", "DURATION"},
    {"connections", true, "connections (closed loop: defaults to the step's concurrency; "
                          "open loop: rate/4, 16..2000; soak: 50)", "N"},
    {"rate", true, "open loop: one run at R requests/s for --duration", "R"},
    {"rates", true, "open loop: steps of rates, --step-seconds each", "LIST"},
    {"arrival", true, "open-loop arrivals: poisson or uniform (default poisson)", "KIND"},
    {"p99-bound-ms", true, "open loop: a rate passes while its P99 stays under this (default 100)", "MS"},
    {"duration", true, "soak: one run this long (30s, 10m, 1h), closed loop unless --rate", "DURATION"},
    {"stream", false, "ask for streamed answers (\"stream\": true) and report the time to the first piece (TTFT P50, P99)"},
    {"max-requests", true, "stop a step after N requests (default: time only)", "N"},
    {"scenarios", true, "scenario mix file (see bench/scenarios/standard.json)", "FILE"},
    {"repeat-fraction", true, "share of requests re-asking a hot-set question (default 0.4)", "F"},
    {"sample-pids", true, "sample RSS and CPU of these processes every second (soak), and report their CPU per request at each step", "PID,..."},
    {"sample-proc-names", true, "soak: the same, for processes with these names", "NAME,..."},
    {"redis-stats", true, "read INFO commandstats of the Redis at HOST:PORT around every step and report its commands per request", "HOST:PORT"},
    {"metrics-url", true, "ragd's Prometheus endpoint, read around every step (its stage timings) and every second of a soak (default: the URL's host + /metrics; 'none' = off)", "URL"},
    {"model-latency-ms", true, "the model's latency, to print efficiency = QPS / ideal QPS", "MS"},
    {"title", true, "a title for the Markdown section and the chart", "TEXT"},
    {"json", true, "write the results as JSON to FILE", "FILE"},
    {"markdown", true, "append the results as a Markdown section to FILE", "FILE"},
    {"svg", true, "write an SVG chart to FILE", "FILE"},
    {"help", false, "show this help and exit"},
    {"version", false, "show the version and exit"},
};

constexpr const char* kUsage =
    "Usage: ragbench [flags]\n\n"
    "Load generator for ragd. Modes:\n"
    "  closed-loop steps (default)   --steps 50,100,200 --step-seconds 10s\n"
    "  open loop                     --rate 1000 --duration 30s | --rates 500,1000,2000\n"
    "  soak (closed loop)            --duration 1h --connections 100 --sample-proc-names ragd,ragd-worker\n"
    "Latency percentiles are over successful (2xx) responses; QPS counts successful responses\n"
    "per second; errors are broken down by HTTP status, timeouts and connection errors. With\n"
    "--stream, answers stream and TTFT columns give the time to the first piece.\n\n";

struct BadFlag {
  std::string message;
};

int fail(const std::string& message) {
  std::cerr << "ragbench: " << message << " (see --help)\n";
  return 2;
}

double number_flag(const ragd::ParsedFlags& f, const std::string& name, double fallback, double lo, double hi) {
  auto v = f.get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    double d = std::stod(*v, &used);
    if (used != v->size() || !(d >= lo && d <= hi)) throw std::out_of_range(name);
    return d;
  } catch (const std::exception&) {
    std::ostringstream s;
    s << "--" << name << " must be a number in [" << lo << ", " << hi << "], got '" << *v << "'";
    throw BadFlag{s.str()};
  }
}

long long int_flag(const ragd::ParsedFlags& f, const std::string& name, long long fallback, long long lo, long long hi) {
  const double d = number_flag(f, name, static_cast<double>(fallback), static_cast<double>(lo), static_cast<double>(hi));
  if (d != std::floor(d)) throw BadFlag{"--" + name + " must be a whole number"};
  return static_cast<long long>(d);
}

milliseconds duration_flag(const ragd::ParsedFlags& f, const std::string& name, milliseconds fallback) {
  auto v = f.get(name);
  if (!v) return fallback;
  auto d = parse_duration(*v);
  if (!d) throw BadFlag{"--" + name + ": " + d.error().message};
  return *d;
}

bool write_file(const std::string& path, const std::string& text, bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

struct Config {
  LoadTarget target;
  std::vector<StepPlan> plans;
  bool open_loop = false;
  bool soak = false;
  double p99_bound_ms = 100;
  std::optional<double> model_latency_ms;
  double repeat_fraction = 0.4;
  SamplerOptions sampler;
  bool sample = false;
  std::optional<std::pair<std::string, unsigned short>> redis_stats;
  std::string title;
  std::string json_path, markdown_path, svg_path;
};

Config build_config(const ragd::ParsedFlags& f) {
  Config c;
  auto url = parse_url(f.get("url").value_or("http://127.0.0.1:8080"));
  if (!url) throw BadFlag{"--url: " + url.error().message};
  c.target.url = *url;
  c.target.path = f.get("path").value_or(url->path.empty() ? "/query" : url->path);
  if (c.target.path.empty() || c.target.path.front() != '/') throw BadFlag{"--path must start with '/'"};
  c.target.method = f.get("method").value_or("POST");
  std::transform(c.target.method.begin(), c.target.method.end(), c.target.method.begin(), ::toupper);
  if (c.target.method != "POST" && c.target.method != "GET") throw BadFlag{"--method must be POST or GET"};
  c.target.api_key = f.get("api-key").value_or("");
  c.target.stream = f.has("stream");
  if (c.target.stream && c.target.method != "POST") throw BadFlag{"--stream needs POST"};
  c.target.timeout = milliseconds(int_flag(f, "timeout-ms", 30000, 1, 3'600'000));
  c.target.threads = static_cast<int>(int_flag(f, "threads", 1, 1, 64));
  const auto clock_seed = static_cast<long long>(std::chrono::system_clock::now().time_since_epoch().count() & 0xFFFFFFFFFFFF);
  c.target.seed = static_cast<std::uint64_t>(int_flag(f, "seed", clock_seed, 0, 1LL << 52));

  c.repeat_fraction = number_flag(f, "repeat-fraction", 0.4, 0, 1);
  ScenarioSet set = default_scenarios();
  if (auto file = f.get("scenarios")) {
    std::ifstream in(*file);
    if (!in) throw BadFlag{"--scenarios: cannot read '" + *file + "'"};
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_scenarios(text.str());
    if (!parsed) throw BadFlag{"--scenarios " + *file + ": " + parsed.error().message};
    set = std::move(*parsed);
  }
  if (c.target.method == "POST") c.target.mix = std::make_shared<const QueryMix>(std::move(set), c.repeat_fraction);

  const milliseconds step = duration_flag(f, "step-seconds", milliseconds(10000));
  const milliseconds warmup = duration_flag(f, "warmup-seconds", milliseconds(2000));
  if (step.count() <= 0) throw BadFlag{"--step-seconds must be positive"};
  const auto max_requests = static_cast<std::uint64_t>(int_flag(f, "max-requests", 0, 0, 1LL << 50));
  std::optional<int> connections;
  if (f.get("connections")) connections = static_cast<int>(int_flag(f, "connections", 50, 1, 100000));
  c.p99_bound_ms = number_flag(f, "p99-bound-ms", 100, 1e-3, 1e7);
  if (f.get("model-latency-ms")) c.model_latency_ms = number_flag(f, "model-latency-ms", 50, 1e-3, 1e7);
  Arrival arrival = Arrival::poisson;
  if (auto a = f.get("arrival")) {
    if (*a == "poisson") arrival = Arrival::poisson;
    else if (*a == "uniform") arrival = Arrival::uniform;
    else throw BadFlag{"--arrival must be poisson or uniform"};
  }

  const bool has_rate = f.get("rate").has_value(), has_rates = f.get("rates").has_value();
  if (has_rate && has_rates) throw BadFlag{"give --rate or --rates, not both"};
  if ((has_rate || has_rates || f.get("duration")) && f.get("steps")) {
    throw BadFlag{"--steps is for closed-loop steps; it does not combine with --rate, --rates or --duration"};
  }
  std::optional<milliseconds> duration;
  if (f.get("duration")) {
    duration = duration_flag(f, "duration", milliseconds(0));
    if (duration->count() <= 0) throw BadFlag{"--duration must be positive"};
  }
  if (has_rates && duration) throw BadFlag{"--rates runs --step-seconds per rate; use --rate with --duration"};
  std::uint64_t salt = 0;
  auto open_plan = [&](double rate, milliseconds measure) {
    StepPlan p;
    p.open_loop = true;
    p.rate = rate;
    p.arrival = arrival;
    p.connections = connections.value_or(std::clamp(static_cast<int>(std::ceil(rate / 4)), 16, 2000));
    p.warmup = warmup;
    p.measure = measure;
    p.max_requests = max_requests;
    p.seed_salt = ++salt;
    return p;
  };
  if (has_rate) {
    c.open_loop = true;
    const double rate = number_flag(f, "rate", 0, 1e-3, 1e7);
    c.plans.push_back(open_plan(rate, duration.value_or(step)));
    c.soak = duration.has_value();
  } else if (has_rates) {
    c.open_loop = true;
    auto rates = parse_double_list(*f.get("rates"));
    if (!rates) throw BadFlag{"--rates: " + rates.error().message};
    for (double r : *rates) c.plans.push_back(open_plan(r, step));
  } else if (duration) {
    c.soak = true;
    StepPlan p;
    p.connections = connections.value_or(50);
    p.warmup = warmup;
    p.measure = *duration;
    p.max_requests = max_requests;
    p.seed_salt = ++salt;
    c.plans.push_back(p);
  } else {
    auto steps = parse_int_list(f.get("steps").value_or("50,100,200,300,400"));
    if (!steps) throw BadFlag{"--steps: " + steps.error().message};
    for (int n : *steps) {
      StepPlan p;
      p.connections = connections.value_or(n);
      p.warmup = warmup;
      p.measure = step;
      p.max_requests = max_requests;
      p.seed_salt = ++salt;
      c.plans.push_back(p);
    }
  }

  if (auto pids = f.get("sample-pids")) {
    for (const auto& w : split_words(*pids)) {
      try {
        std::size_t used = 0;
        int pid = std::stoi(w, &used);
        if (used != w.size() || pid <= 0) throw std::out_of_range(w);
        c.sampler.pids.push_back(pid);
      } catch (const std::exception&) {
        throw BadFlag{"--sample-pids must be a list of process ids, got '" + w + "'"};
      }
    }
  }
  if (auto names = f.get("sample-proc-names")) c.sampler.names = split_words(*names);
  if (auto r = f.get("redis-stats")) {
    const auto colon = r->rfind(':');
    int port = 0;
    try {
      std::size_t used = 0;
      if (colon != std::string::npos) port = std::stoi(r->substr(colon + 1), &used);
      if (colon == std::string::npos || colon == 0 || used != r->size() - colon - 1) port = 0;
    } catch (const std::exception&) {
      port = 0;
    }
    if (port <= 0 || port > 65535) throw BadFlag{"--redis-stats must be HOST:PORT, got '" + *r + "'"};
    c.redis_stats.emplace(r->substr(0, colon), static_cast<unsigned short>(port));
  }
  const std::string metrics = f.get("metrics-url").value_or("");
  if (metrics != "none") {
    if (metrics.empty()) {
      TargetUrl m = c.target.url;
      m.path = "/metrics";
      c.sampler.metrics = m;
    } else {
      auto m = parse_url(metrics);
      if (!m) throw BadFlag{"--metrics-url: " + m.error().message};
      c.sampler.metrics = *m;
    }
  }
  c.sample = c.soak || !c.sampler.pids.empty() || !c.sampler.names.empty();
  c.title = f.get("title").value_or("");
  c.json_path = f.get("json").value_or("");
  c.markdown_path = f.get("markdown").value_or("");
  c.svg_path = f.get("svg").value_or("");
  return c;
}

StepResult make_result(const Config& c, const StepPlan& plan, const StepOutcome& o) {
  StepResult r;
  r.mode = plan.open_loop ? "open" : "closed";
  r.concurrency = plan.connections;
  r.offered_rate = plan.rate;
  r.seconds = o.measured_seconds;
  r.total = summarize(o.shard.total, o.measured_seconds);
  if (c.target.mix) {
    const auto& scenarios = c.target.mix->set().scenarios;
    for (std::size_t i = 0; i < o.shard.per_scenario.size() && i < scenarios.size(); ++i) {
      r.scenarios.push_back(summarize(o.shard.per_scenario[i], o.measured_seconds, scenarios[i].name));
    }
  }
  r.unsent = o.shard.unsent;
  r.client_cpu_cores = o.wall_seconds > 0 ? o.client_cpu_seconds / o.wall_seconds : 0;
  // CPU and completions both over the whole step, warm-up included.
  r.client_cpu_us_per_req = o.completed ? o.client_cpu_seconds * 1e6 / static_cast<double>(o.completed) : 0;
  if (!plan.open_loop && c.model_latency_ms) {
    r.ideal_qps = ideal_closed_loop_qps(plan.connections, r.total.miss_fraction, *c.model_latency_ms);
    if (r.ideal_qps) r.efficiency = r.total.qps / *r.ideal_qps;
  }
  if (plan.open_loop) {
    const bool bounded = r.total.ok > 0 && r.total.latency.p99_ms <= c.p99_bound_ms;
    const bool clean = r.total.error_pct <= 1.0 &&
                       static_cast<double>(r.unsent) <= 0.01 * static_cast<double>(std::max<std::uint64_t>(1, r.total.ok));
    r.within_bound = bounded && clean;
  }
  return r;
}

std::string step_label(const StepPlan& p) {
  return p.open_loop ? "rate " + fmt("%.0f", p.rate) + "/s over " + std::to_string(p.connections) + " connections"
                     : "concurrency " + std::to_string(p.connections);
}

int run(const Config& c, int argc, char** argv) {
  std::cerr << "ragbench: target " << c.target.method << " http://" << c.target.url.host_header() << c.target.path
            << ", seed " << c.target.seed << ", " << c.target.threads << " thread(s)\n";
  LiveCounters live;
  std::unique_ptr<SoakSampler> sampler;
  if (c.sample) {
    sampler = std::make_unique<SoakSampler>(c.sampler, &live);
    sampler->start();
  }
  std::vector<StepResult> results;
  std::optional<StepOutcome> soak_outcome;
  for (std::size_t i = 0; i < c.plans.size(); ++i) {
    const auto& plan = c.plans[i];
    std::cerr << "ragbench: step " << i + 1 << "/" << c.plans.size() << ": " << step_label(plan) << ", "
              << format_duration(plan.warmup) << " warm-up + " << format_duration(plan.measure) << "\n";
    const bool servers = !c.sampler.pids.empty() || !c.sampler.names.empty();
    std::map<std::string, std::uint64_t> ticks_before;
    if (servers) ticks_before = cpu_ticks_by_name(c.sampler.pids, c.sampler.names);
    // ragd's own stage timings over the step: a scrape before and after (nullopt when the
    // target has no /metrics, as for nginx or with --metrics-url none).
    std::optional<std::string> metrics_before;
    if (c.sampler.metrics) metrics_before = fetch_metrics(*c.sampler.metrics);
    std::optional<std::map<std::string, std::uint64_t>> redis_before;
    if (c.redis_stats) redis_before = read_commandstats(c.redis_stats->first, c.redis_stats->second);
    StepOutcome o = run_step(c.target, plan, &live);
    results.push_back(make_result(c, plan, o));
    if (metrics_before) {
      if (auto after = fetch_metrics(*c.sampler.metrics)) results.back().ragd_stages = stage_timings(*metrics_before, *after);
    }
    results.back().load_average = load_average_1m();
    if (redis_before && o.completed > 0) {
      // Over the whole step, warm-up included, like the CPU below.
      if (auto after = read_commandstats(c.redis_stats->first, c.redis_stats->second)) {
        for (const auto& [name, n] : commandstats_delta(*redis_before, *after)) {
          results.back().redis_commands_per_req[name] = static_cast<double>(n) / static_cast<double>(o.completed);
        }
      }
    }
    if (servers && o.completed > 0) {
      // Over the whole step, warm-up included, like ragbench's own figure.
      const double us_per_tick = 1e6 / static_cast<double>(clock_ticks_per_second());
      for (const auto& [name, after] : cpu_ticks_by_name(c.sampler.pids, c.sampler.names)) {
        auto before = ticks_before.find(name);
        if (before == ticks_before.end() || after < before->second) continue;  // started or restarted mid-step
        results.back().server_cpu_us_per_req[name] =
            static_cast<double>(after - before->second) * us_per_tick / static_cast<double>(o.completed);
      }
    }
    const auto& t = results.back().total;
    std::cerr << "ragbench:   " << fmt("%.1f", t.qps) << " QPS, P50 " << fmt("%.2f", t.latency.p50_ms) << " ms, P99 "
              << fmt("%.2f", t.latency.p99_ms) << " ms, errors " << fmt("%.2f", t.error_pct) << "%\n";
    if (c.soak) soak_outcome = std::move(o);
  }
  if (sampler) sampler->stop();

  std::string text = format_table(results) + "\n";
  for (const auto& r : results) text += format_breakdown(r);
  std::optional<double> best_rate;
  if (c.open_loop) {
    for (const auto& r : results) {
      if (r.within_bound && *r.within_bound) best_rate = std::max(best_rate.value_or(0), r.offered_rate);
    }
    text += "highest rate with P99 under " + fmt("%g", c.p99_bound_ms) + " ms: " +
            (best_rate ? fmt("%.0f", *best_rate) + " requests/s" : std::string("none")) + "\n";
  }
  std::optional<SoakDrift> drift;
  if (c.soak && soak_outcome) {
    const double run_s = soak_outcome->wall_seconds;
    const double window_s = soak_outcome->measured_seconds / 10.0;
    drift = compute_drift(sampler ? sampler->samples() : std::vector<SoakSample>{}, run_s,
                          soak_outcome->shard.first_window, soak_outcome->shard.last_window, window_s);
    text += format_drift(*drift);
  }
  std::cout << text << std::flush;

  int code = 0;
  if (!c.json_path.empty()) {
    // The command line goes into the results, but never the API key itself.
    nlohmann::json args = nlohmann::json::array();
    bool key_next = false;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (key_next) a = "***";
      if (a.rfind("--api-key=", 0) == 0) a = "--api-key=***";
      key_next = a == "--api-key";
      args.push_back(a);
    }
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& r : results) steps.push_back(to_json(r));
    nlohmann::json j = {{"ragbench", RAGD_VERSION},
                        {"args", args},
                        {"target", "http://" + c.target.url.host_header() + c.target.path},
                        {"method", c.target.method},
                        {"seed", c.target.seed},
                        {"threads", c.target.threads},
                        {"repeat_fraction", c.repeat_fraction},
                        {"steps", steps}};
    if (c.open_loop) {
      j["p99_bound_ms"] = c.p99_bound_ms;
      j["highest_rate_within_bound"] = best_rate ? nlohmann::json(*best_rate) : nlohmann::json();
    }
    if (c.model_latency_ms) j["model_latency_ms"] = *c.model_latency_ms;
    if (sampler) {
      nlohmann::json samples = nlohmann::json::array();
      for (const auto& s : sampler->samples()) samples.push_back(to_json(s));
      j["samples"] = std::move(samples);
    }
    if (drift) j["drift"] = to_json(*drift);
    if (!write_file(c.json_path, j.dump(2) + "\n")) {
      std::cerr << "ragbench: cannot write " << c.json_path << "\n";
      code = 1;
    }
  }
  if (!c.markdown_path.empty()) {
    std::string md;
    if (!c.title.empty()) md += "### " + c.title + "\n\n";
    md += format_table(results, TableStyle::markdown) + "\n```\n";
    for (const auto& r : results) md += format_breakdown(r);
    if (c.open_loop) md += "highest rate with P99 under " + fmt("%g", c.p99_bound_ms) + " ms: " +
                           (best_rate ? fmt("%.0f", *best_rate) : std::string("none")) + "\n";
    if (drift) md += format_drift(*drift);
    md += "```\n\n";
    if (!write_file(c.markdown_path, md, true)) {
      std::cerr << "ragbench: cannot write " << c.markdown_path << "\n";
      code = 1;
    }
  }
  if (!c.svg_path.empty()) {
    std::vector<ChartPanel> panels;
    if (!c.soak) panels.push_back(steps_panel(results, c.title.empty() ? "ragbench" : c.title));
    if (sampler && !sampler->samples().empty()) {
      for (auto& p : soak_panels(sampler->samples())) panels.push_back(std::move(p));
    }
    if (!write_file(c.svg_path, render_svg(panels))) {
      std::cerr << "ragbench: cannot write " << c.svg_path << "\n";
      code = 1;
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ragd::parse_flags(argc, argv, kFlags);
  if (!flags) return fail(flags.error().message);
  if (flags->has("help")) {
    std::cout << kUsage << ragd::flags_help(kFlags);
    return 0;
  }
  if (flags->has("version")) {
    std::cout << "ragbench " RAGD_VERSION "\n";
    return 0;
  }
  Config config;
  try {
    config = build_config(*flags);
  } catch (const BadFlag& e) {
    return fail(e.message);
  }
  try {
    return run(config, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ragbench: " << e.what() << "\n";
    return 1;
  }
}
