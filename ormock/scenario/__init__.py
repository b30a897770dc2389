"""The scenario language: what a TOML scenario may say, how it is read and checked, and the facts it
is written against (the model catalogue, what a submit may ask for, the built-in library).

Nothing here knows of HTTP or of a running server; everything above builds on it. Its public names
are the loader's (`ormock.scenario.loader`; `ormock` itself exports the ones a user needs). This
package itself loads nothing, so a command that needs only the built-in library (`ormock --help`,
`ormock scenarios`) loads neither the loader nor pydantic nor RE2."""
