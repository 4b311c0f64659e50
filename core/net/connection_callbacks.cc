// The nghttp2 callbacks of a Connection: the frames the session reports (a request's headers,
// its data, a stream's end or reset, a PING) turned into Stream events, and the table of them
// every session is made with. Connection's lifecycle and I/O are in connection.cc.
#include <cstring>
#include <utility>

#include "core/net/connection.h"
#include "core/net/request_header_rules.h"
#include "core/net/stream.h"

namespace percore::net {
namespace {

Stream* StreamOf(nghttp2_session* session, int32_t id) {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

}  // namespace

int Connection::OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* connection = static_cast<Connection*>(self);
  auto* stream = new Stream(connection, frame->hd.stream_id);
  connection->Link(stream);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream);
  return 0;
}

int Connection::OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* stream = StreamOf(session, frame->hd.stream_id);
  if (stream == nullptr) return 0;
  const std::string_view field(reinterpret_cast<const char*>(name), namelen);
  const std::string_view content(reinterpret_cast<const char*>(value), valuelen);
  // A malformed request is reset with PROTOCOL_ERROR, as nghttp2's own checks did (RFC 9113
  // §8.1.1); the rest of its block still goes through nghttp2's HPACK decoder, unread.
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    // The client's trailers carry nothing gRPC uses; they still follow the rules.
    if (!stream->OnTrailer(field, content)) stream->ResetMalformed();
    return 0;
  }
  if (!stream->OnHeader(field, content)) stream->ResetMalformed();
  return 0;
}

int Connection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* stream = StreamOf(session, frame->hd.stream_id);
      if (stream == nullptr) return 0;
      auto* connection = static_cast<Connection*>(self);
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
          connection->inject_stream_ == frame->hd.stream_id) {
        connection->InjectAuthorization();  // the cut literal had ended the block
      }
      if (stream->malformed()) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (!stream->CheckRequestHeaders() || (end_stream && !stream->ContentLengthMet())) {
          stream->ResetMalformed();
          return 0;
        }
        stream->OnHeadersDone(end_stream);
      } else if (!end_stream || !stream->ContentLengthMet()) {
        stream->ResetMalformed();  // trailers must end the stream (RFC 9113 §8.1)
      } else {
        stream->OnEndStream();  // trailers from the client end its side
      }
      return 0;
    }
    case NGHTTP2_DATA:
      if (end_stream) {
        if (Stream* stream = StreamOf(session, frame->hd.stream_id)) {
          if (stream->malformed()) return 0;
          if (stream->ContentLengthMet()) {
            stream->OnEndStream();
          } else {
            stream->ResetMalformed();
          }
        }
      }
      return 0;
    case NGHTTP2_PING:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        static_cast<Connection*>(self)->OnClientPing();
      } else if (std::memcmp(frame->ping.opaque_data, kDrainPingPayload,
                             sizeof kDrainPingPayload) == 0) {
        static_cast<Connection*>(self)->SendFinalGoaway();
      }
      return 0;
    default:
      return 0;
  }
}

void Connection::InjectAuthorization() {
  const int32_t id = std::exchange(inject_stream_, 0);
  if (id == 0) return;
  Stream* stream = StreamOf(session_, id);
  if (stream == nullptr) return;  // refused or reset by nghttp2: nothing reads it
  if (!stream->OnHandedOverAuthorization(authorization_memo_.value())) stream->ResetMalformed();
}

void Connection::AddBuffered(int64_t delta) {
  buffered_ += delta;
  if (delta < 0 && owed_window_ > 0 && open() &&
      buffered_ < static_cast<int64_t>(options().connection_buffer_bytes)) {
    nghttp2_session_consume_connection(session_, owed_window_);
    owed_window_ = 0;
    ScheduleFlush();
  }
}

int Connection::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                            const uint8_t* data, size_t len, void* self) {
  // The connection window comes back at once (the stream's when its consumer takes the bytes),
  // unless the streams already buffer the connection's budget: then it waits for them.
  auto* connection = static_cast<Connection*>(self);
  if (connection->buffered_ < static_cast<int64_t>(connection->options().connection_buffer_bytes)) {
    nghttp2_session_consume_connection(session, len);
  } else {
    connection->owed_window_ += len;
  }
  Stream* stream = StreamOf(session, stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  if (!stream->CountData(len)) stream->ResetMalformed();  // more than its content-length
  stream->OnData(data, len);
  return 0;
}

int Connection::OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                              void* self) {
  Stream* stream = StreamOf(session, stream_id);
  if (stream == nullptr) return 0;
  auto* connection = static_cast<Connection*>(self);
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  connection->Unlink(stream);
  stream->OnClosed(error_code != NGHTTP2_NO_ERROR);
  stream->Unref();  // the connection's reference
  return 0;
}

int Connection::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) {
    // The server is sending: pings in between are keepalive of a live call, not abuse.
    auto* connection = static_cast<Connection*>(self);
    connection->ping_strikes_ = 0;
    connection->last_ping_ = {};
  }
  // The server ended the stream while the client still sends (an early error status): reset
  // its side with NO_ERROR, as PROTOCOL-HTTP2.md says, so it stops uploading.
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
      nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

nghttp2_session_callbacks* Connection::Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, &Connection::OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, &Connection::OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &Connection::OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &Connection::OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &Connection::OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, &Connection::OnFrameSend);
    return c;
  }();
  return callbacks;
}

}  // namespace percore::net
