"""The command line: the parser and one thin module per command. A command parses its options,
calls one pipeline function and prints; it decides nothing a test of a stage would not see.

May import every stage; nothing imports this package except `harness.__main__`.
"""
