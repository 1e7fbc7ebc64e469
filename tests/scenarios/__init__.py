"""The scenario table (issue 12): cases as data, run through the rules and the live bot."""
