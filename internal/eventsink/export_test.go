package eventsink

// Dropped is the counter of events a full queue refused.
var Dropped = dropped
