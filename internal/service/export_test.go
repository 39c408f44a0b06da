package service

// DummyHash is what logins with an unknown e-mail address are compared against.
var DummyHash = dummyHash
