package grammar

import (
	"container/list"
	"sync"
)

// Literal quotes s as a GBNF string literal, for callers that write
// grammars around compiled schemas (see SchemasToGBNF).
func Literal(s string) string { return gbnfLiteral(s) }

// NamedSchema is a JSON Schema to compile into the rule named Rule of a
// larger grammar.
type NamedSchema struct {
	Rule   string // a GBNF rule name: letters, digits and "-"
	Schema []byte
}

// SchemasToGBNF returns a grammar whose root rule is root (GBNF
// alternatives, written by the caller) and which holds one rule per
// schema, named as given and compiled as SchemaToGBNF compiles a schema
// (the primitive rules shared), so that root may refer to them: a tool
// call's wire form around its arguments, say. Each schema's $ref pointers
// resolve within that schema. A *SchemaError's Rule names the schema at
// fault.
func SchemasToGBNF(root string, schemas ...NamedSchema) (src string, err error) {
	c := &schemaConv{rules: map[string]string{"space": spaceRule, "root": refPending}}
	defer catchSchemaError(&err)
	for _, s := range schemas {
		if !validRuleName(s.Rule) {
			return "", &SchemaError{Rule: s.Rule, Msg: "not a valid rule name"}
		}
		v, err := decodeJSON(s.Schema)
		if err != nil {
			return "", &SchemaError{Rule: s.Rule, Msg: "not valid JSON: " + err.Error()}
		}
		c.root, c.refRules = v, map[string]string{}
		func() {
			defer func() {
				if r := recover(); r != nil {
					if se, ok := r.(*SchemaError); ok {
						se.Rule = s.Rule
					}
					panic(r)
				}
			}()
			if got := c.visit(v, s.Rule, ""); got != s.Rule {
				c.rules[s.Rule] = got
			}
		}()
	}
	c.rules["root"] = root
	return c.format(), nil
}

func validRuleName(s string) bool {
	if s == "" || s == "root" || s == "space" {
		return false
	}
	if _, ok := primitives[s]; ok {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordChar(s[i]) || s[i] == '_' {
			return false
		}
	}
	return true
}

// Cache keeps compiled grammars by their source (a JSON Schema or GBNF
// text and its kind), most recently used first, so that a server compiles
// each schema once and its grammar keeps the tables (masks per state) it
// built for a vocabulary. Safe for concurrent use; the zero value is not
// usable, call NewCache.
type Cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // of *cacheEntry, front: most recent
	byKey map[cacheKey]*list.Element
}

type cacheKey struct{ kind, src string }

type cacheEntry struct {
	key  cacheKey
	once sync.Once
	g    *Grammar
	err  error
}

// NewCache returns a cache of at most size grammars (at least 1).
func NewCache(size int) *Cache {
	return &Cache{max: max(size, 1), ll: list.New(), byKey: map[cacheKey]*list.Element{}}
}

// Get returns the grammar compiled from src by compile, compiling it on
// the first request for (kind, src); concurrent requests for the same key
// wait for one compilation. Errors are cached too (a bad schema stays
// bad).
func (c *Cache) Get(kind, src string, compile func(src string) (*Grammar, error)) (*Grammar, error) {
	k := cacheKey{kind, src}
	c.mu.Lock()
	el, ok := c.byKey[k]
	if ok {
		c.ll.MoveToFront(el)
	} else {
		el = c.ll.PushFront(&cacheEntry{key: k})
		c.byKey[k] = el
		for c.ll.Len() > c.max {
			old := c.ll.Back()
			c.ll.Remove(old)
			delete(c.byKey, old.Value.(*cacheEntry).key)
		}
	}
	e := el.Value.(*cacheEntry)
	c.mu.Unlock()
	e.once.Do(func() { e.g, e.err = compile(src) })
	return e.g, e.err
}

// Len returns the number of grammars held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
