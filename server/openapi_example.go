package server

import (
	"reflect"
	"strings"
)

// exampleObject derives a request example from a struct type, so an
// operation without one in opDocs still has an example that validates
// against its schema: the required fields (all of them when none is),
// with values guessed from the field names and enums.
func exampleObject(t reflect.Type) map[string]any {
	fields := goFields(t)
	anyRequired := false
	for _, f := range fields {
		anyRequired = anyRequired || f.required
	}
	out := map[string]any{}
	for _, f := range fields {
		if f.required || !anyRequired {
			out[f.name] = exampleValue(f.typ, t.Name(), f.name)
		}
	}
	return out
}

func exampleValue(t reflect.Type, typeName, field string) any {
	switch {
	case t == timeType:
		return "2026-12-05T16:00:00Z"
	case t == rawType, t.Kind() == reflect.Interface, t.Kind() == reflect.Map:
		return map[string]any{}
	case t.Kind() == reflect.Pointer:
		return exampleValue(t.Elem(), typeName, field)
	case t.Kind() == reflect.Struct:
		return exampleObject(t)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return "AAEC"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return []any{exampleValue(t.Elem(), typeName, field)}
	case t.Kind() == reflect.String:
		if e := enumFor(typeName, field); len(e) > 0 {
			return e[0]
		}
		return exampleString(field)
	case t.Kind() == reflect.Bool:
		return false
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if field == "limit" {
			return 50
		}
		return 1
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return 1.0
	}
	return nil
}

// idPrefixes are the contract's ID prefixes (§1, Part II) by field name.
var idPrefixes = map[string]string{
	"user_id": "usr_", "org_id": "org_", "session_id": "ses_", "factor_id": "fac_", "webhook_id": "whk_",
	"api_key_id": "key_", "connection_id": "sso_", "event_id": "evt_", "challenge_id": "chl_",
}

func exampleString(field string) string {
	switch {
	case field == "email":
		return "ada@example.com"
	case strings.Contains(field, "password"):
		return "correct horse battery staple"
	case field == "code":
		return "123456"
	case field == "domain":
		return "example.com"
	case field == "provider":
		return "github"
	case field == "query":
		return "ada@"
	case field == "reason":
		return "Reported compromised"
	case strings.HasSuffix(field, "_url") || field == "url":
		return "https://hooks.example.com/latchkey"
	case field == "redirect_to":
		return "/account"
	case strings.HasSuffix(field, "token"):
		return "tok_8fJk2LmQ"
	case strings.HasSuffix(field, "name"):
		return "Ada Lovelace"
	case idPrefixes[field] != "":
		return idPrefixes[field] + "2xq9"
	case field == "id" || strings.HasSuffix(field, "_id"):
		return "id_2xq9"
	}
	return "example"
}
