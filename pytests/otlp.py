"""A real OTLP/HTTP trace receiver (protobuf, as the OpenTelemetry Collector
takes it) keeping every span it is sent, for pytests/test_traces.py."""

import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import text_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SERVER = trace_pb2.Span.SPAN_KIND_SERVER
CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT
INTERNAL = trace_pb2.Span.SPAN_KIND_INTERNAL
MAX_BODY = 4 << 20
EXPORT_RESPONSE = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()


@dataclass(frozen=True)
class Span:
    service: str  # its resource's service.name
    trace_id: str  # hex, as are the span ids; a root's parent_span_id is ""
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict
    start: int  # nanoseconds since the epoch, to order the tree

    def __str__(self):
        return f"{self.service}: {self.name}"


def kind_name(kind):
    try:
        return trace_pb2.Span.SpanKind.Name(kind).removeprefix("SPAN_KIND_").lower()
    except ValueError:
        return str(kind)


def any_value(value):
    """An attribute's value: strings, integers, booleans and doubles as
    Python's; anything else (arrays, maps, bytes) as its protobuf text."""
    which = value.WhichOneof("value")
    if which in ("string_value", "int_value", "bool_value", "double_value"):
        return getattr(value, which)
    return text_format.MessageToString(value, as_one_line=True) if which else None


def decode(body):
    """The spans of one serialized ExportTraceServiceRequest."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(Span(
                    service=resource.get("service.name", ""),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=span.kind,
                    attributes={kv.key: any_value(kv.value) for kv in span.attributes},
                    start=span.start_time_unix_nano,
                ))
    return spans


def tree(spans):
    """The spans as an indented tree, children in start order."""
    ids = {s.span_id for s in spans}
    children = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start):
        children[span.parent_span_id if span.parent_span_id in ids else None].append(span)
    lines = []

    def show(span, depth):
        lines.append(f"{'  ' * depth}{span} ({kind_name(span.kind)})")
        for child in children[span.span_id]:
            show(child, depth + 1)

    for root in children[None]:
        show(root, 0)
    return "\n".join(lines)


class ReceiverHandler(BaseHTTPRequestHandler):
    # Keep-alive, as exporters expect of a collector.
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_POST(self):
        if self.path != "/v1/traces":
            return self.refuse(404, f"POST {self.path}")
        content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-protobuf":
            return self.refuse(415, f"content type {content_type!r}")
        try:
            length = int(self.headers.get("content-length", ""))
        except ValueError:
            return self.refuse(411, "no content length")
        if not 0 <= length <= MAX_BODY:
            return self.refuse(413, f"a body of {length} bytes")
        body = self.rfile.read(length)
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            # Bounded once inflated too: a small gzip body can be huge.
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                body = inflater.decompress(body, MAX_BODY)
            except zlib.error as err:
                return self.refuse(400, f"bad gzip: {err}")
            if inflater.unconsumed_tail:
                return self.refuse(413, f"over {MAX_BODY} bytes once inflated")
        elif encoding != "identity":
            return self.refuse(415, f"content encoding {encoding!r}")
        try:
            spans = decode(body)
        except DecodeError as err:
            return self.refuse(400, f"not an ExportTraceServiceRequest: {err}")
        with self.server.lock:
            # Keyed by ids: an export the exporter retried counts once.
            self.server.received.update({(s.trace_id, s.span_id): s for s in spans})
        self.answer(200, EXPORT_RESPONSE, "application/x-protobuf")

    def answer(self, status, body, content_type, close=False):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        if close:
            self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, why):
        with self.server.lock:
            self.server.refused.append(f"{status} {why}")
        # The body may be unread: this connection cannot carry another request.
        self.answer(status, why.encode(), "text/plain", close=True)

    def log_message(self, *args):
        pass  # refusals are kept and tested; the rest is noise


class Receiver(ThreadingHTTPServer):
    """OTLP/HTTP's trace endpoint on a free port of 127.0.0.1, keeping every
    span received and every export refused, until stop()."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.lock = threading.Lock()
        self.received = {}
        self.refused = []
        self.stopped = False
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self, trace_id=None):
        with self.lock:
            return [s for s in self.received.values() if trace_id is None or s.trace_id == trace_id]

    def stop(self):
        """Stops answering and closes the port; once, however often called."""
        if not self.stopped:
            self.stopped = True
            self.shutdown()
            self.server_close()
