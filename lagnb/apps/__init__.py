"""The apps on top of the engine and the model: autocomplete, the ipywidgets app and the
teaching checkers of the tour."""
