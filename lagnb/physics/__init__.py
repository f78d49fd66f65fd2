"""The physics: fields and representations, explicit SU(3)×SU(2) contractions, the Lagrangian
engine, terms as objects, the BART-L token grammar, the term checker, independent character
counting and the catalogue of named models.  Pure Python (numpy), no torch."""
