// toml_reader: typed, line-numbered reads of TOML tables.
#include "app/toml_reader.hpp"

#include <charconv>

namespace backstop::app {

std::size_t line_of(const toml::node& node) { return node.source().begin.line; }

std::string TomlReader::name(const char* key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + key;
}

void TomlReader::error(const char* key, const std::string& message) {
  const toml::node* node = table_.get(key);
  if (node != nullptr) {
    error_at(*node, name(key), message);
  } else {
    errors_.push_back(name(key) + ": " + message);
  }
}

void TomlReader::error_at(const toml::node& node, const std::string& what,
                          const std::string& message) {
  errors_.push_back(what + " (line " + std::to_string(line_of(node)) + "): " + message);
}

const toml::node* TomlReader::lookup(const char* key) {
  known_.insert(key);
  return table_.get(key);
}

void TomlReader::string(const char* key, std::string& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* s = node->as_string()) {
    out = s->get();
  } else {
    error(key, "must be a string");
  }
}

std::size_t TomlReader::choice(const char* key, std::initializer_list<std::string_view> allowed,
                               std::size_t current) {
  std::string value(*(allowed.begin() + static_cast<std::ptrdiff_t>(current)));
  string(key, value);
  std::string words;
  std::size_t index = 0;
  for (const auto word : allowed) {
    if (word == value) {
      return index;
    }
    words += (index == 0 ? "" : index + 1 == allowed.size() ? " or " : ", ");
    words += "\"" + std::string(word) + "\"";
    ++index;
  }
  error(key, "must be " + words);
  return current;
}

void TomlReader::number(const char* key, double& out, double min, double max) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  double value = 0;
  if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    error(key, "must be a number");
    return;
  }
  if (value < min || value > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return;
  }
  out = value;
}

void TomlReader::boolean(const char* key, bool& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* b = node->as_boolean()) {
    out = b->get();
  } else {
    error(key, "must be true or false");
  }
}

void TomlReader::integer(const char* key, std::uint64_t& out, std::uint64_t min,
                         std::uint64_t max) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  const auto* i = node->as_integer();
  if (i == nullptr) {
    error(key, "must be an integer");
    return;
  }
  const std::int64_t v = i->get();
  if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return;
  }
  out = static_cast<std::uint64_t>(v);
}

namespace {
bool parse_duration_text(std::string_view text, std::int64_t& seconds) {
  if (text.empty()) {
    return false;
  }
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number < 0) {
    return false;
  }
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return false;
  }
  seconds = number * scale;
  return true;
}
} // namespace

void TomlReader::duration(const char* key, std::chrono::seconds& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  std::int64_t seconds = -1;
  if (const auto* i = node->as_integer()) {
    seconds = i->get();
  } else if (const auto* s = node->as_string()) {
    if (!parse_duration_text(s->get(), seconds)) {
      seconds = -1;
    }
  }
  if (seconds < 0) {
    error(key, "must be a duration: seconds as an integer or a string like \"90s\", \"5m\", "
               "\"4h\", \"5d\"");
    return;
  }
  out = std::chrono::seconds(seconds);
}

void TomlReader::millis(const char* key, std::chrono::milliseconds& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* i = node->as_integer(); i != nullptr && i->get() > 0) {
    out = std::chrono::milliseconds(i->get());
  } else {
    error(key, "must be a positive number of milliseconds");
  }
}

void TomlReader::strings(const char* key, std::vector<std::string>& out) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return;
  }
  const auto* arr = node->as_array();
  if (arr == nullptr) {
    error(key, "must be an array of strings");
    return;
  }
  std::vector<std::string> values;
  for (const auto& item : *arr) {
    if (const auto* s = item.as_string()) {
      values.push_back(s->get());
    } else {
      error(key, "must be an array of strings");
      return;
    }
  }
  out = std::move(values);
}

const toml::table* TomlReader::table(const char* key) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return nullptr;
  }
  if (const auto* t = node->as_table()) {
    return t;
  }
  error(key, "must be a table ([" + name(key) + "])");
  return nullptr;
}

const toml::array* TomlReader::array(const char* key) {
  const toml::node* node = lookup(key);
  if (node == nullptr) {
    return nullptr;
  }
  if (const auto* a = node->as_array()) {
    return a;
  }
  error(key, "must be an array");
  return nullptr;
}

void TomlReader::finish() {
  for (const auto& [key, node] : table_) {
    if (known_.count(std::string(key.str())) == 0) {
      error_at(node, name(std::string(key.str()).c_str()), "unknown key");
    }
  }
}

} // namespace backstop::app
