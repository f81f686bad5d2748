#include "ragd/core/config_fields.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ragd {

namespace {

using nlohmann::json;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string join(const std::string& path, std::string_view key) {
  if (key.empty()) return path;
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string quoted(const std::string& path, std::string_view key) {
  const std::string p = join(path, key);
  return p.empty() ? "(top level)" : "'" + p + "'";
}

// Walks one JSON object, remembering which keys the description consumed so that the rest
// can be rejected: a misspelt key must fail loudly, not be ignored.
class JsonReader final : public ConfigFields {
 public:
  JsonReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw ConfigError(quoted(path_, "") + " must be an object");
  }

  Pass pass() const override { return Pass::read; }

  void field(std::string_view key, std::string& v, const char*) override {
    if (const json* x = find(key)) {
      if (!x->is_string()) throw ConfigError(at(key) + " must be a string");
      v = x->get<std::string>();
    }
  }
  void field(std::string_view key, bool& v, const char*) override {
    if (const json* x = find(key)) {
      if (!x->is_boolean()) throw ConfigError(at(key) + " must be true or false");
      v = x->get<bool>();
    }
  }
  void field(std::string_view key, double& v, const char*) override {
    if (const json* x = find(key)) {
      if (!x->is_number()) throw ConfigError(at(key) + " must be a number");
      v = x->get<double>();
    }
  }
  void field(std::string_view key, int& v, const char*) override { integer(key, v); }
  void field(std::string_view key, std::int64_t& v, const char*) override { integer(key, v); }
  void field(std::string_view key, std::size_t& v, const char*) override { integer(key, v); }
  void field(std::string_view key, std::vector<std::string>& v) override {
    if (const json* x = find(key)) {
      if (!x->is_array()) throw ConfigError(at(key) + " must be an array of strings");
      v.clear();
      for (const auto& e : *x) {
        if (!e.is_string()) throw ConfigError(at(key) + " must be an array of strings");
        v.push_back(e.get<std::string>());
      }
    }
  }

  void section(std::string_view key, const std::function<void(ConfigFields&)>& describe) override {
    if (const json* x = find(key)) {
      JsonReader sub(*x, join(path_, key));
      describe(sub);
      sub.finish();
    }
  }

  void list(std::string_view key, const std::function<void(std::size_t)>& resize,
            const std::function<std::size_t()>&,
            const std::function<void(ConfigFields&, std::size_t)>& describe) override {
    const json* x = find(key);
    if (!x) return;
    if (!x->is_array()) throw ConfigError(at(key) + " must be an array");
    resize(x->size());
    for (std::size_t i = 0; i < x->size(); ++i) {
      JsonReader item((*x)[i], join(path_, key) + "[" + std::to_string(i) + "]");
      describe(item, i);
      item.finish();
    }
  }

  void check(bool, std::string_view, std::string_view) override {}
  void require(bool ok, std::string_view key, std::string_view what) override {
    if (!ok) throw ConfigError(at(key) + " " + std::string(what));
  }

  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) throw ConfigError("unknown key " + at(it.key()));
    }
  }

 private:
  const json* find(std::string_view key) {
    seen_.emplace(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  std::string at(std::string_view key) const { return quoted(path_, key); }

  template <class I>
  void integer(std::string_view key, I& out) {
    const json* x = find(key);
    if (!x) return;
    if (!x->is_number_integer()) throw ConfigError(at(key) + " must be an integer");
    if constexpr (std::is_unsigned_v<I>) {
      if (!x->is_number_unsigned() && x->get<long long>() < 0) {
        throw ConfigError(at(key) + " must not be negative");
      }
    }
    out = x->get<I>();
  }

  const json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

// Applies RAGD_* variables to the fields that name one.
class EnvReader final : public ConfigFields {
 public:
  Pass pass() const override { return Pass::env; }

  void field(std::string_view, std::string& v, const char* env) override {
    if (const char* s = value(env)) v = s;
  }
  void field(std::string_view, bool& v, const char* env) override {
    const char* s = value(env);
    if (!s) return;
    const std::string_view t(s);
    if (t == "1" || t == "true" || t == "on") {
      v = true;
    } else if (t == "0" || t == "false" || t == "off") {
      v = false;
    } else {
      fail(std::string("environment variable ") + env + " must be on or off (true/false, 1/0), got '" + s + "'");
    }
  }
  void field(std::string_view, double& v, const char* env) override {
    const char* s = value(env);
    if (!s) return;
    try {
      std::size_t used = 0;
      double d = std::stod(s, &used);
      if (used != std::string_view(s).size()) throw std::invalid_argument(s);
      v = d;
    } catch (const std::exception&) {
      fail(std::string("environment variable ") + env + " must be a number, got '" + s + "'");
    }
  }
  void field(std::string_view, int& v, const char* env) override { integer(env, v); }
  void field(std::string_view, std::int64_t& v, const char* env) override { integer(env, v); }
  void field(std::string_view, std::size_t& v, const char* env) override { integer(env, v); }
  void field(std::string_view, std::vector<std::string>&) override {}
  void section(std::string_view, const std::function<void(ConfigFields&)>& describe) override {
    describe(*this);
  }
  void list(std::string_view, const std::function<void(std::size_t)>&, const std::function<std::size_t()>& size,
            const std::function<void(ConfigFields&, std::size_t)>& describe) override {
    for (std::size_t i = 0, n = size(); i < n; ++i) describe(*this, i);
  }
  void check(bool, std::string_view, std::string_view) override {}
  void require(bool, std::string_view, std::string_view) override {}

  const std::string& error() const { return error_; }

 private:
  static const char* value(const char* env) {
    if (!env) return nullptr;
    const char* v = std::getenv(env);
    return v && *v ? v : nullptr;
  }
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  template <class I>
  void integer(const char* env, I& out) {
    const char* s = value(env);
    if (!s) return;
    try {
      std::size_t used = 0;
      long long n = std::stoll(s, &used);
      if (used != std::string_view(s).size()) throw std::invalid_argument(s);
      if (std::is_unsigned_v<I> && n < 0) throw std::invalid_argument(s);
      out = static_cast<I>(n);
    } catch (const std::exception&) {
      fail(std::string("environment variable ") + env + " must be an integer, got '" + s + "'");
    }
  }

  std::string error_;
};

// A walk that knows the dotted path of the section it is in.
class PathWalk : public ConfigFields {
 public:
  void section(std::string_view key, const std::function<void(ConfigFields&)>& describe) override {
    const std::string outer = path_;
    path_ = join(path_, key);
    describe(*this);
    path_ = outer;
  }
 protected:
  std::string path_;
};

// Checks every constraint, keeping the first failure.
class Validator final : public PathWalk {
 public:
  Pass pass() const override { return Pass::validate; }

  void field(std::string_view, std::string&, const char*) override {}
  void field(std::string_view, bool&, const char*) override {}
  void field(std::string_view, double&, const char*) override {}
  void field(std::string_view, int&, const char*) override {}
  void field(std::string_view, std::int64_t&, const char*) override {}
  void field(std::string_view, std::size_t&, const char*) override {}
  void field(std::string_view, std::vector<std::string>&) override {}
  void list(std::string_view key, const std::function<void(std::size_t)>&, const std::function<std::size_t()>& size,
            const std::function<void(ConfigFields&, std::size_t)>& describe) override {
    const std::string outer = path_;
    for (std::size_t i = 0, n = size(); i < n; ++i) {
      path_ = join(outer, key) + "[" + std::to_string(i) + "]";
      describe(*this, i);
    }
    path_ = outer;
  }
  void check(bool ok, std::string_view key, std::string_view what) override {
    if (!ok && error_.empty()) error_ = quoted(path_, key) + " " + std::string(what);
  }
  void require(bool ok, std::string_view key, std::string_view what) override { check(ok, key, what); }

  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Lists the environment variables the fields name, with each one's key path.
class EnvLister final : public PathWalk {
 public:
  Pass pass() const override { return Pass::env; }

  void field(std::string_view key, std::string&, const char* env) override { add(key, env); }
  void field(std::string_view key, bool&, const char* env) override { add(key, env); }
  void field(std::string_view key, double&, const char* env) override { add(key, env); }
  void field(std::string_view key, int&, const char* env) override { add(key, env); }
  void field(std::string_view key, std::int64_t&, const char* env) override { add(key, env); }
  void field(std::string_view key, std::size_t&, const char* env) override { add(key, env); }
  void field(std::string_view, std::vector<std::string>&) override {}
  // Elements of a list name no variables (their keys are indexed, not fixed).
  void list(std::string_view, const std::function<void(std::size_t)>&, const std::function<std::size_t()>&,
            const std::function<void(ConfigFields&, std::size_t)>&) override {}
  void check(bool, std::string_view, std::string_view) override {}
  void require(bool, std::string_view, std::string_view) override {}

  std::vector<ConfigEnvVariable> take() { return std::move(vars_); }

 private:
  void add(std::string_view key, const char* env) {
    if (env) vars_.push_back({env, join(path_, key)});
  }

  std::vector<ConfigEnvVariable> vars_;
};

}  // namespace

Result<void> read_config(const std::string& text, const DescribeConfig& describe) {
  try {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    JsonReader r(j, "");
    describe(r);
    r.finish();
    return {};
  } catch (const json::parse_error& e) {
    return make_error(Errc::bad_request, std::string("not valid JSON: ") + e.what());
  } catch (const ConfigError& e) {
    return make_error(Errc::bad_request, e.what());
  } catch (const json::exception& e) {
    return make_error(Errc::bad_request, e.what());
  }
}

Result<void> apply_config_env(const DescribeConfig& describe) {
  EnvReader env;
  describe(env);
  if (!env.error().empty()) return make_error(Errc::bad_request, env.error());
  return {};
}

std::vector<ConfigEnvVariable> config_env_variables(const DescribeConfig& describe) {
  EnvLister lister;
  describe(lister);
  return lister.take();
}

std::string env_help(const std::vector<ConfigEnvVariable>& vars) {
  std::string out = "Environment variables (each overrides the config file's key):\n";
  for (const auto& v : vars) {
    out += "  ";
    out += v.name;
    out.append(v.name.size() < 32 ? 32 - v.name.size() : 1, ' ');
    out += v.key;
    out += '\n';
  }
  return out;
}

Result<void> validate_config(const DescribeConfig& describe) {
  Validator v;
  describe(v);
  if (!v.error().empty()) return make_error(Errc::bad_request, v.error());
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, "cannot open file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(Errc::internal, "cannot read file '" + path + "'");
  return ss.str();
}

bool is_http_url_or_empty(std::string_view s) {
  return s.empty() || s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

}  // namespace ragd
