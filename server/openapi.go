package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
)

var errNoRoute = latchkey.Errorf(latchkey.CodeNotFound, "There is nothing at this path.")

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// buildOpenAPI describes every registered operation as OpenAPI 3.1, from
// the Go types of its request and response, so the document cannot fall
// behind the routes.
func (s *Server) buildOpenAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]any{}
	for _, op := range s.list {
		if op.browser != nil {
			paths["/v1/"+op.Name] = browserPath(op)
			continue
		}
		item := map[string]any{}
		post := map[string]any{
			"operationId": op.Name,
			"summary":     op.Summary,
			"tags":        []string{strings.SplitN(op.Name, ".", 2)[0]},
			"responses": map[string]any{
				"200":     map[string]any{"description": "Success", "content": jsonContent(g.schema(op.resType))},
				"default": map[string]any{"description": "Error envelope", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/Error"})},
			},
		}
		if sec := security(op.Auth); sec != nil {
			post["security"] = sec
		}
		if !op.ignoreBody && op.reqType.NumField() > 0 {
			post["requestBody"] = map[string]any{"required": false, "content": jsonContent(g.schema(op.reqType))}
		}
		item["post"] = post
		if op.Read {
			get := map[string]any{}
			for k, v := range post {
				if k != "requestBody" {
					get[k] = v
				}
			}
			get["operationId"] = op.Name + ".get"
			item["get"] = get
		}
		paths["/v1/"+op.Name] = item
	}
	g.defs["Error"] = map[string]any{
		"type": "object", "required": []string{"error"},
		"properties": map[string]any{"error": map[string]any{
			"type": "object", "required": []string{"code", "message", "request_id"},
			"properties": map[string]any{
				"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
				"request_id": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
				"providers": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			},
		}},
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Latchkey API", "version": "1"},
		"servers": []any{map[string]any{"url": s.cfg.PublicURL}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer":    map[string]any{"type": "http", "scheme": "bearer", "description": "A session access token (JWT) or a secret API key (sk_live_…)."},
				"cookie":    map[string]any{"type": "apiKey", "in": "cookie", "name": accessCookie},
				"refreshed": map[string]any{"type": "apiKey", "in": "cookie", "name": refreshCookie},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// browserPath describes a GET-only browser operation that answers 302.
func browserPath(op operation) map[string]any {
	return map[string]any{"get": map[string]any{
		"operationId": op.Name,
		"summary":     op.Summary,
		"tags":        []string{strings.SplitN(op.Name, ".", 2)[0]},
		"parameters": []any{map[string]any{
			"name": "token", "in": "query", "required": true, "schema": map[string]any{"type": "string"},
		}},
		"responses": map[string]any{"302": map[string]any{
			"description": "Redirect; sets the session cookies when the token is valid",
			"headers":     map[string]any{"Location": map[string]any{"schema": map[string]any{"type": "string"}}},
		}},
	}}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func security(a auth) []any {
	switch a {
	case authSession, authKey, authAny, authAdmin:
		return []any{map[string]any{"bearer": []string{}}, map[string]any{"cookie": []string{}}}
	case authOptional:
		return []any{map[string]any{}, map[string]any{"bearer": []string{}}, map[string]any{"cookie": []string{}}}
	}
	return nil
}

// schemaGen turns Go types into JSON Schema, naming structs in components.
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeFor[time.Time]()

func (g *schemaGen) schema(t reflect.Type) any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return map[string]any{"anyOf": []any{g.schema(t.Elem()), map[string]any{"type": "null"}}}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
