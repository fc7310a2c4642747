"""clipmill's version, in a module of its own so that every layer can read it without importing the
package's entry point (`clipmill.process_clip` reaches up to the flows)."""

__version__ = "0.1.0"
