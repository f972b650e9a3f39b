"""Algorithm tables: name -> spec, with the default preference lists (DESIGN §4)."""
