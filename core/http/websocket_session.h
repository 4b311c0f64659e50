#pragma once
// Threading contract: the server's io thread only, like every session (server_impl.h).

#include "core/http/server_impl.h"

namespace percore::http::internal {

// One WebSocket: reads one message at a time as the handler asks, writes one frame at a time
// from a bounded queue, closes after the queue with the handler's code.
// Stream: TcpStream (plaintext) or TlsStream (after the TLS handshake).
template <class Stream>
class WebSocketSession final : public Connection,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  WebSocketSession(Server::Impl& server, ExchangeId id, Stream&& stream)
      : server_(server), id_(id), ws_(std::move(stream)) {}

  void Accept(bhttp::request<bhttp::string_body>&& upgrade, Request&& request) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = server_.options.read_timeout;
    timeouts.idle_timeout = server_.options.websocket_ping_after * 2;
    timeouts.keep_alive_pings = true;  // a ping at half the idle timeout; no pong: closed
    ws_.set_option(timeouts);
    // The handshake's answer (101, or Beast's 400) carries what the server adds to its own
    // answers (ServerOptions::on_own_answer: the gateway's trace context).
    Response handshake{.status = 101};
    if (server_.options.on_own_answer) server_.options.on_own_answer(request, handshake);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = std::move(handshake.headers)](websocket::response_type& res) {
          res.set(bhttp::field::server, "percore");
          for (const auto& [name, value] : headers) res.set(name, value);
        }));
    ws_.read_message_max(server_.options.max_websocket_message_bytes);
    if (int bytes = server_.options.websocket_send_buffer_bytes; bytes > 0) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().set_option(asio::socket_base::send_buffer_size(bytes),
                                                       ignored);
    }
    auto req = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(upgrade));
    ws_.async_accept(*req, [self = this->shared_from_this(), req,
                            request = std::move(request)](beast::error_code ec) mutable {
      if (ec) return self->Closed(/*opened=*/false);  // beast answered 400 to a bad handshake
      self->open_ = true;
      self->server_.websockets->OnOpen(*self->server_.self, self->id_, std::move(request));
    });
  }

  void ReadMore() override {
    if (!open_ || closed_) return;
    ++credits_;
    MaybeRead();
  }

  void SendText(std::string text) override {
    if (!open_ || closed_ || closing_) return;
    if (out_.size() >= server_.options.max_websocket_queue) {
      // The client does not read: the queue is the bound. A close frame cannot pass the queued
      // ones, so the connection is dropped.
      return Close();
    }
    out_.push_back(std::move(text));
    MaybeWrite();
  }

  void CloseWebSocket(uint16_t code, std::string reason) override {
    if (!open_ || closed_ || closing_) return;
    closing_ = true;
    // RFC 6455: a close reason is at most 123 bytes.
    if (reason.size() > 123) reason.resize(123);
    close_reason_.code = code;
    close_reason_.reason = reason;
    MaybeWrite();
  }

  bool Finishing() const override { return closing_ && !closed_; }

  void Close() override {
    if (closed_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    Closed(open_);
  }

 private:
  void MaybeRead() {
    if (reading_ || credits_ == 0 || closed_) return;
    reading_ = true;
    --credits_;
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->reading_ = false;
      if (ec) {
        if (ec == websocket::error::message_too_big) {
          // beast closes the socket with 1009 itself.
        }
        return self->Closed(true);
      }
      if (!self->ws_.got_text()) {
        self->CloseWebSocket(websocket::close_code::bad_payload, "text frames only");
        return;
      }
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (self->closed_) return;
      self->server_.websockets->OnText(*self->server_.self, self->id_, std::move(text));
    });
  }

  void MaybeWrite() {
    if (writing_ || closed_) return;
    if (!out_.empty()) {
      writing_ = true;
      ws_.text(true);
      ws_.async_write(asio::buffer(out_.front()),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->Close();
                        self->out_.pop_front();
                        ++self->sent_;
                        if (self->out_.empty() && !self->closed_) {
                          self->server_.websockets->OnDrained(*self->server_.self, self->id_,
                                                              std::exchange(self->sent_, 0));
                        }
                        self->MaybeWrite();
                      });
      return;
    }
    if (closing_ && !close_sent_) {
      // Beast (Boost 1.74) writes the close frame at once, but with a read pending (ReadMore)
      // its close completes only when that read does: not on the peer's close answer, not on
      // its end of stream (seen at stop: a client that answered and closed still held Stop()
      // for its whole stop_linger, after which Stop() closed the socket).
      close_sent_ = true;
      writing_ = true;
      ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
        self->writing_ = false;
        self->Close();
      });
    }
  }

  // Once: the handler hears of it and the server forgets the socket.
  void Closed(bool opened) {
    if (closed_) return;
    closed_ = true;
    auto keep = this->shared_from_this();
    if (opened) server_.websockets->OnClosed(*server_.self, id_);
    server_.Forget(id_);
  }

  Server::Impl& server_;
  const ExchangeId id_;
  websocket::stream<Stream> ws_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  websocket::close_reason close_reason_;
  int credits_ = 0;
  size_t sent_ = 0;  // frames written since the last OnDrained
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool closed_ = false;
};

}  // namespace percore::http::internal
