// refuse: reset and record.
#include "trap/refuse.hpp"

#include "trap/handlers.hpp"

namespace backstop::trap {

void RefuseHandler::start(std::size_t, asio::ip::tcp::socket socket, const smtp::Peers& peers) {
  std::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored); // close sends RST
  socket.close(ignored);
  Hit hit;
  hit.address = client_address(peers.remote);
  hit.detail = "reset at connect";
  recorder_.record(hit);
}

} // namespace backstop::trap
