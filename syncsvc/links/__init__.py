"""Associations between records at the CRM (issue 14 part 5, A → B): a child record (contact,
deal) linked to its parent (company) once both exist there."""
