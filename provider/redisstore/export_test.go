package redisstore

// Translate exposes translate to the external tests.
var Translate = translate

// ReplayRead exposes Replayed's command to the external tests.
var ReplayRead = replayRead
