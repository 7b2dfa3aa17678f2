package latchkey

import "context"

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request being served,
// so that logs and background work (mail retries) can name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
