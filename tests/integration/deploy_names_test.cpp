// The deployment files against the programs: the Kubernetes manifests render with
// kustomize, the gateway accepts their config, and the ports agree across the image, the
// compose file, the manifests and Prometheus's scrape and alert configuration.
#include "stack.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <regex>
#include <set>

using namespace ragd::test;
using nlohmann::json;

namespace {

struct Run {
  int code = -1;
  std::string output;  // stdout only
};

Run run_capture(const std::string& cmd) {
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string read_file(const std::string& relative) { return Stack::read_all(source_path(relative)); }

Run kustomize(const std::string& dir) { return run_capture("kubectl kustomize " + source_path(dir) + " 2>&1"); }

std::set<std::string> matches(const std::string& text, const std::string& pattern, int group = 0) {
  std::set<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[group].str());
  }
  return out;
}

// Every deployment file as text, kustomize's renderings included.
struct DeployFiles {
  std::string base, overlay, compose, dockerfile, prometheus, alerts, dashboard;

  DeployFiles() {
    auto b = kustomize("docker/kubernetes/base");
    auto o = kustomize("docker/kubernetes/overlays/example");
    EXPECT_EQ(b.code, 0) << b.output;
    EXPECT_EQ(o.code, 0) << o.output;
    base = b.output;
    overlay = o.output;
    compose = read_file("docker/compose.yaml");
    dockerfile = read_file("docker/Dockerfile");
    prometheus = read_file("docker/monitoring/prometheus.yml");
    alerts = read_file("docker/monitoring/alerts.yaml");
    dashboard = read_file("docker/monitoring/grafana-dashboard.json");
  }
  std::string all() const { return base + overlay + compose + dockerfile; }
};

}  // namespace

TEST(DeployFiles, KustomizeRendersTheBaseAndTheOverlay) {
  for (const char* dir : {"docker/kubernetes/base", "docker/kubernetes/overlays/example"}) {
    auto r = kustomize(dir);
    ASSERT_EQ(r.code, 0) << dir << ":\n" << r.output;
    for (const char* kind : {"kind: StatefulSet", "kind: Deployment", "kind: Service", "kind: PodDisruptionBudget",
                             "kind: HorizontalPodAutoscaler", "kind: ScaledObject", "kind: ConfigMap", "kind: Secret"}) {
      EXPECT_NE(r.output.find(kind), std::string::npos) << dir << " renders no " << kind;
    }
  }
}

TEST(DeployFiles, ConfigFilesAreAcceptedByTheGateway) {
  auto r = run_capture(bin_path("ragd") + " --check-config --config " +
                       source_path("docker/kubernetes/base/config/ragd.json") + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
}

TEST(DeployFiles, PortsAgreeAcrossImageComposeManifestsAndPrometheus) {
  DeployFiles files;
  // The gateway listens on 8080 everywhere: the image, the manifests, the probes.
  EXPECT_NE(files.dockerfile.find("RAGD_LISTEN=0.0.0.0:8080"), std::string::npos);
  EXPECT_NE(files.base.find("value: 0.0.0.0:8080"), std::string::npos);
  // The worker's metrics port: the flag's port must be the port of every probe, the
  // container port, the scrape annotations and Prometheus's worker target.
  const auto ports = matches(files.all(), R"(--metrics-listen"?\s*[,\n]\s*-?\s*"?0\.0\.0\.0:(\d+))", 1);
  ASSERT_EQ(ports.size(), 1u) << "one worker metrics port everywhere";
  const std::string port = *ports.begin();
  EXPECT_NE(files.base.find("containerPort: " + port), std::string::npos);
  EXPECT_NE(files.base.find("prometheus.io/port: \"" + port + "\""), std::string::npos);
  EXPECT_NE(files.compose.find("127.0.0.1:" + port + "/healthz"), std::string::npos);
  EXPECT_NE(files.dockerfile.find("127.0.0.1:" + port + "/healthz"), std::string::npos);
  EXPECT_NE(files.prometheus.find("port: " + port), std::string::npos);
  // Alert rules select the jobs prometheus.yml scrapes.
  for (const auto& job : matches(files.alerts, R"(job="([^"]+)\")", 1)) {
    EXPECT_NE(files.prometheus.find("job_name: " + job + "\n"), std::string::npos) << job;
  }
}

TEST(DeployFiles, EveryVariableTheDeploymentSetsIsOneTheProgramsRead) {
  DeployFiles files;
  auto gateway = run_capture(bin_path("ragd") + " --help");
  auto worker = run_capture(bin_path("ragd-worker") + " --help");
  ASSERT_EQ(gateway.code, 0);
  ASSERT_EQ(worker.code, 0);
  // --help lists the variables the config declarations name; a typo in a manifest (or a key
  // renamed in the code) would otherwise be ignored silently by the pod.
  const std::string read_by_programs = gateway.output + worker.output;
  EXPECT_NE(read_by_programs.find("RAGD_WORKER_METRICS_LISTEN"), std::string::npos);
  EXPECT_NE(read_by_programs.find("RAGD_READINESS_REQUIRE_WORKERS"), std::string::npos);
  // Set in `env:` lists (Kubernetes), `environment:` maps and `ENV` lines (image, compose).
  const std::string deployed = files.base + files.overlay + files.compose + files.dockerfile;
  auto names = matches(deployed, R"(name: (RAGD_[A-Z0-9_]+))", 1);
  for (const auto& n : matches(deployed, R"((RAGD_[A-Z0-9_]+)[=:] )", 1)) names.insert(n);
  for (const auto& n : matches(deployed, R"(ENV (RAGD_[A-Z0-9_]+)=)", 1)) names.insert(n);
  ASSERT_FALSE(names.empty());
  // Read outside the config declarations: the config file's path and the embedding key (the
  // variable retrieval.embedder.api_key_env names).
  const std::set<std::string> outside = {"RAGD_CONFIG", "RAGD_WORKER_CONFIG", "RAGD_EMBED_API_KEY"};
  for (const auto& name : names) {
    if (outside.count(name)) continue;
    EXPECT_NE(read_by_programs.find(name + " "), std::string::npos) << name << " is set but no program reads it";
  }
}

namespace {

// Metric family names in an exposition: histogram series (_bucket, _sum, _count) count as
// their family.
std::set<std::string> families(const std::string& exposition) {
  std::set<std::string> out;
  for (const auto& name : matches(exposition, R"(# TYPE (ragd_[a-z0-9_]+) )", 1)) out.insert(name);
  return out;
}

std::string family_of(const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return name.substr(0, name.size() - s.size());
    }
  }
  return name;
}

}  // namespace

TEST(DeployFiles, EveryMetricTheDashboardAndAlertsUseIsExported) {
  DeployFiles files;
  FakeLlm llm;
  StackOptions opts;
  opts.worker_args = {"--llm-base-url", llm.base_url(), "--metrics-listen", "127.0.0.1:0"};
  opts.gateway_config = {{"retrieval", {{"replication", {{"enabled", true}}}}}};
  Stack stack(opts);
  ASSERT_TRUE(stack.wait_ready());
  int worker_port = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto log = stack.worker(0).log();
        const auto at = log.find("metrics_port=");
        worker_port = at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 13);
        return worker_port > 0;
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(stack.post("/query", {{"query", "what do bees make?"}}).status, 200);

  const auto gateway = stack.get("/metrics");
  const auto worker = http_request(worker_port, "GET", "/metrics");
  ASSERT_EQ(gateway.status, 200);
  ASSERT_EQ(worker.status, 200);
  auto exported = families(gateway.body);
  for (const auto& f : families(worker.body)) exported.insert(f);
  ASSERT_TRUE(exported.count("ragd_worker_jobs_total")) << worker.body;

  const auto used_by_dashboard = matches(files.dashboard, R"(ragd_[a-z0-9_]+)");
  const auto used_by_alerts = matches(files.alerts, R"(ragd_[a-z0-9_]+)");
  ASSERT_FALSE(used_by_dashboard.empty());
  ASSERT_FALSE(used_by_alerts.empty());
  for (const auto& name : used_by_dashboard) {
    EXPECT_TRUE(exported.count(family_of(name))) << "the dashboard uses " << name << ", which nothing exports";
  }
  for (const auto& name : used_by_alerts) {
    EXPECT_TRUE(exported.count(family_of(name))) << "an alert uses " << name << ", which nothing exports";
  }
}
