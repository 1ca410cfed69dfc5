package networks

// ListAssociationsSQL is the keyset query of ListAssociations, for plan tests.
const ListAssociationsSQL = listAssociationsSQL
