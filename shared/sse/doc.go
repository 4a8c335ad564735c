// Package sse reads and writes server-sent events
// (https://html.spec.whatwg.org/multipage/server-sent-events.html) the way
// codexgate relays them: whole events at a time, looked at without copies.
//
//   - reader.go: Reader splits a stream at event boundaries (a blank line)
//     and hands out complete events only, so an event cut by a broken
//     upstream never reaches a client half-written; a Watcher sees each
//     event as it is handed out;
//   - event.go: one event's fields: Parse (any event), View (the usual
//     event of one "event:" and one "data:" line, without allocating), Name
//     (just the "event:" field), and Append, which writes one.
//
// The proxy relays the upstream's Responses stream through a Reader, the
// API fronts convert the events it hands out, and `codexgate doctor` reads
// a turn with it.
package sse
