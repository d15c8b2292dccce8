// Package query parses GA/T 1400 (VIID, 视图库) list-query strings, such as
//
//	/VIID/MotorVehicles?RecordStartNo=1&PageRecordNum=20&(MotorVehicle.PassTime%20BETWEEN%20'20261122080000'%20and%20'20261122090000')&(Sort%20=%20MotorVehicle.PassTime)
//
// into a checked expression tree and then into a parameterised SQL WHERE clause and
// ORDER BY list (see /work/shared/reference/GAT1400.md §6).
//
// Three styles occur in the wild and may be mixed in one query string:
//
//  1. expression terms, each (usually) in parentheses: (Face.ShotTime >= '20261122000000'),
//     ((Face.DeviceID = 'a' OR Face.DeviceID = 'b') AND Face.Age > 30);
//  2. plain parameters meaning equality: Faces.DeviceID=…, Face.DeviceID=…, DeviceID=…;
//  3. IDList=id1,id2,… (membership in the schema's ID attribute).
//
// The reserved parameters RecordStartNo, PageRecordNum, MaxNumRecordReturn, Sort and
// IDList may be written plain (PageRecordNum=20) or as a term ((PageRecordNum = 20)).
//
// # Safety
//
// SQL text comes only from the [Schema] (column expressions) and from this package
// (operators, keywords, "?" placeholders); every value from the query string travels
// in the args slice. ORDER BY accepts only schema attributes. Input is bounded
// ([MaxQueryLen] bytes, [MaxDepth] levels of parentheses/NOT, [MaxListLen] list
// elements, [MaxLikeWildcards] LIKE wildcards) and every failure is an [*Error] naming the offending attribute or term,
// never a panic.
//
// # Grammar
//
// The query string is split on unencoded '&' into terms (an '&' inside a quoted
// string of a term that starts with '(' does not split). Each term is then
// percent-decoded ('+' is a space; a '%' not followed by two hex digits stays a
// literal '%') and must be valid UTF-8 without control characters other than tab,
// CR and LF (PostgreSQL refuses NUL in text). Keywords (AND OR NOT LIKE BETWEEN IN ASC DESC)
// and the reserved names are case-insensitive; attribute names are matched exactly
// first, then case-insensitively if that is unambiguous.
//
//	query      = [ "?" ] term { "&" term } .
//	term       = "" | plain | reserved | expr .
//	plain      = key "=" rawvalue .            (* no blank before "=", rawvalue not starting with "'" *)
//	key        = attr | resname .
//	reserved   = { "(" } resname "=" resvalue { ")" } .   (* as many ")" as "(" *)
//	resname    = "RecordStartNo" | "PageRecordNum" | "MaxNumRecordReturn" | "Sort" | "IDList" .
//	resvalue   = value                           (* RecordStartNo, PageRecordNum, MaxNumRecordReturn: integer ≥ 0 *)
//	           | sortkey { "," sortkey }         (* Sort *)
//	           | value { "," value } .           (* IDList *)
//	sortkey    = attr [ "ASC" | "DESC" ] .
//	expr       = andexpr { "OR" andexpr } .
//	andexpr    = notexpr { "AND" notexpr } .
//	notexpr    = "NOT" notexpr | primary .
//	primary    = "(" expr ")" | predicate .
//	predicate  = attr cmpop value
//	           | attr [ "NOT" ] "LIKE" value
//	           | attr [ "NOT" ] "BETWEEN" value "AND" value
//	           | attr [ "NOT" ] "IN" "(" value { "," value } ")" .
//	cmpop      = "=" | "!=" | "<>" | ">" | "<" | ">=" | "<=" | "!>" | "!<" .
//	attr       = [ object "." ] name .          (* object: Schema.Object or an alias *)
//	value      = string | word .
//	string     = "'" { char | "''" } "'" .
//	word       = wordchar { wordchar } .        (* not a keyword *)
//	wordchar   = any character except blanks, control characters and ( ) ' " , = ! < > & ; .
//
// A plain term whose value starts with "'" (Face.DeviceID='x') is read as an
// expression; a term that is neither plain nor reserved (Face.Age > 3 without
// parentheses) is read as an expression too. NOT, IN and NOT LIKE/BETWEEN/IN are
// extensions beyond the operators seen in the wild. Conditions of all terms are ANDed.
//
// # Decisions on ambiguous points
//
//   - Values: a quoted string or a bare word. For text attributes a bare word is the
//     text itself (so 粤A12345 or 44150200001310000001 need no quotes), except that a
//     bare Object.Attr-looking word is refused (comparing two attributes is not
//     supported). Int attributes take decimal integers, Float attributes decimal
//     numbers, quoted or not. Keywords cannot be bare values.
//   - Times are YYYYMMDDhhmmss or YYYYMMDDhhmmssMMM, read in Schema.Location (default
//     UTC+8, "CST"). A time stands for the whole second (or millisecond) it names, so
//     comparisons are range-aware: T = t is t ≤ T < t+1s, T <= t is T < t+1s,
//     T > t is T ≥ t+1s, BETWEEN a AND b is a ≤ T < b+1s, and so on. This makes
//     second-precision wire times select the right rows from millisecond columns.
//     Values reach SQL through Schema.TimeArg (default: Unix milliseconds, int64);
//     the bounds are TimeArg(t) and TimeArg(t+span), so any monotonic storage works
//     (a TimeArg that truncates to seconds makes millisecond inputs second-grained).
//   - LIKE: '*' and '%' match any run of characters, '_' any one character; a
//     backslash makes the next character literal (\* \% \_ \\). A pattern with no
//     wildcard matches as "contains" ('粤A' is '%粤A%'). The SQL uses ESCAPE '!'
//     (portable: no backslash-in-literal differences between databases). Adjacent
//     runs collapse and at most [MaxLikeWildcards] runs are allowed, since each one
//     can multiply the database's matching work. LIKE applies to text attributes
//     only. Case sensitivity is the database's (SQLite: ASCII-insensitive).
//   - Errors: attribute and value errors name the attribute as written; syntax
//     errors name the term (shortened to about 80 bytes); an over-long query has an
//     empty Param.
//   - RecordStartNo is 1-based (the Huazun example starts at 1); 0 and 1 both mean
//     "from the start", so [Query.Offset] is RecordStartNo-1. A client that counts from
//     0 therefore sees one overlapping row between pages instead of losing one.
//   - PageRecordNum defaults to [DefaultPageRecordNum] (also when 0) and is capped at
//     [MaxPageRecordNum]. MaxNumRecordReturn, where given, caps the page size too
//     (Pensees reads it as the page size; Huazun echoes it beside PageRecordNum).
//     It is not enforced as a total across pages: that would need the caller's
//     offset bookkeeping and no implementation seen does it.
//   - A reserved parameter given twice must repeat the same value; Sort keys and IDList
//     elements given in several terms accumulate.
//   - Plain parameters with an empty value (DeviceID=) are ignored, as HTML forms send
//     them; so are empty IDList elements. [Query.IDs] may thus be empty: a batch
//     DELETE handler must refuse that rather than delete without a filter. Unknown plain parameters are errors: strip your own parameters (tokens,
//     cache busters) before calling [Parse].
//   - Sort without ASC/DESC is ascending. No default order is added: give one yourself
//     for stable paging.
package query
