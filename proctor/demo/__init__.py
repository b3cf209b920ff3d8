"""Demo tooling: the README's walkthrough as a program (``proctor demo walkthrough``)."""
