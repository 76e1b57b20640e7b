// stage: the points of an SMTP conversation where the pipeline is asked.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace backstop::policy {

enum class Stage { Connect, Helo, Mail, Rcpt, Data };
inline constexpr std::size_t stage_count = 5;
inline constexpr std::array<Stage, stage_count> all_stages{Stage::Connect, Stage::Helo, Stage::Mail,
                                                           Stage::Rcpt, Stage::Data};

// "CONNECT", "HELO", "MAIL", "RCPT", "DATA": the labels of logs and refusal counters.
constexpr std::string_view stage_name(Stage stage) {
  constexpr std::array<std::string_view, stage_count> names{"CONNECT", "HELO", "MAIL", "RCPT",
                                                            "DATA"};
  return names[static_cast<std::size_t>(stage)];
}

// Facts and scores learnt from this stage on belong to one transaction (MAIL to end of data).
constexpr bool is_transaction_stage(Stage stage) { return stage >= Stage::Mail; }

} // namespace backstop::policy
