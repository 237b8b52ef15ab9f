"""The demo tenant's data: who works there, who writes, about what, and how it unfolds.

Plain data, read by `demo.py`'s loader; edit here to change what the demo shows.
"""

from __future__ import annotations

from typing import Any

from comptoir.accounts.rights import RoleCode
from comptoir.contacts.models import FieldType
from comptoir.tickets.models import Channel, Status

# Where each demo workspace receives mail; the first queue of the workspace gets it.
MAILBOXES = [
    ("boutique", "support@boutique.demo", "Service client Boutique en ligne"),
    ("assurance", "sinistres@assurance.demo", "Assurance — sinistres"),
]

# -- French material ---------------------------------------------------------------------

FIRST_NAMES = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Sarah",
    "Julie",
    "Émilie",
    "Claire",
    "Anaïs",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Théo",
    "Nathan",
    "Raphaël",
    "Adam",
    "Élodie",
    "Margaux",
    "Pauline",
    "Océane",
    "Mathilde",
    "Antoine",
    "Julien",
    "Maxime",
    "Nicolas",
    "Thomas",
    "Sébastien",
    "François",
    "Hélène",
    "Sophie",
    "Aurélie",
    "Benoît",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
]
COMPANIES = [
    "",
    "",
    "",
    "Boulangerie Lemaire",
    "Cabinet Roussel & Associés",
    "Garage du Centre",
    "Transports Vidal",
    "Pharmacie des Halles",
    "Atelier Mercier",
    "SARL Bois et Jardin",
    "Librairie La Plume",
    "Hôtel du Parc",
    "Clinique Saint-Jean",
    "Ferme des Quatre Vents",
]
MAIL_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr", "sfr.fr"]
CITIES = ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux", "Rennes"]

WORKSPACES: dict[str, dict[str, Any]] = {
    "boutique": {
        "name": "Boutique en ligne",
        "queues": ["Commandes", "Livraisons", "Retours"],
        "teams": ["Service client", "Logistique"],
        "reasons": [
            "Suivi de commande",
            "Retard de livraison",
            "Produit défectueux",
            "Demande de remboursement",
            "Modification d'adresse",
            "Question sur un produit",
        ],
        "fields": [
            ("numero_client", "Numéro client", FieldType.TEXT, []),
            ("nb_commandes", "Nombre de commandes", FieldType.NUMBER, []),
            ("client_depuis", "Client depuis", FieldType.DATE, []),
            ("fidelite", "Programme fidélité", FieldType.CHOICE, ["Bronze", "Argent", "Or"]),
        ],
    },
    "assurance": {
        "name": "Assurance",
        "queues": ["Sinistres", "Contrats"],
        "teams": ["Gestion sinistres", "Souscription"],
        "reasons": [
            "Déclaration de sinistre",
            "Attestation d'assurance",
            "Résiliation",
            "Changement de garanties",
            "Réclamation",
        ],
        "fields": [
            ("numero_contrat", "Numéro de contrat", FieldType.TEXT, []),
            ("bonus_malus", "Coefficient bonus-malus", FieldType.NUMBER, []),
            ("date_echeance", "Date d'échéance", FieldType.DATE, []),
            ("formule", "Formule", FieldType.CHOICE, ["Tiers", "Tiers étendu", "Tous risques"]),
        ],
    },
}

# Subject and first message per queue; {n} is an order/contract number, {city} a city.
SCENARIOS: dict[str, list[tuple[str, str]]] = {
    "Commandes": [
        (
            "Commande {n} non reçue",
            "Bonjour, j'ai passé la commande {n} il y a dix jours et "
            "je n'ai toujours rien reçu. Pouvez-vous me dire où elle en est ?",
        ),
        (
            "Modifier ma commande {n}",
            "Bonjour, je souhaiterais ajouter un article à ma "
            "commande {n} avant son expédition. Est-ce encore possible ?",
        ),
        (
            "Erreur de taille sur la commande {n}",
            "Bonjour, j'ai commandé un pull en taille M "
            "mais j'ai sélectionné L par erreur. Pouvez-vous corriger ?",
        ),
        (
            "Paiement refusé",
            "Bonjour, mon paiement par carte a été refusé trois fois alors que "
            "ma carte fonctionne ailleurs. Que dois-je faire ?",
        ),
        (
            "Facture de la commande {n}",
            "Bonjour, pourriez-vous m'envoyer la facture de la "
            "commande {n} au nom de mon entreprise ?",
        ),
    ],
    "Livraisons": [
        (
            "Colis bloqué au dépôt de {city}",
            "Bonjour, le suivi indique que mon colis est "
            "bloqué au dépôt de {city} depuis quatre jours. Merci de relancer le transporteur.",
        ),
        (
            "Livraison en point relais",
            "Bonjour, est-il possible de faire livrer ma commande "
            "{n} en point relais plutôt qu'à domicile ?",
        ),
        (
            "Colis endommagé",
            "Bonjour, le colis de la commande {n} est arrivé ouvert et le "
            "vase à l'intérieur est cassé. Je joins une description des dégâts.",
        ),
        (
            "Changement d'adresse de livraison",
            "Bonjour, je déménage à {city} la semaine "
            "prochaine. Pouvez-vous modifier l'adresse de livraison de la commande {n} ?",
        ),
    ],
    "Retours": [
        (
            "Retour d'un article",
            "Bonjour, l'article ne me convient pas. Comment puis-je le "
            "retourner et sous quel délai serai-je remboursé ?",
        ),
        (
            "Remboursement non reçu",
            "Bonjour, j'ai renvoyé la commande {n} il y a trois "
            "semaines et je n'ai pas encore été remboursé.",
        ),
        (
            "Échange de produit",
            "Bonjour, je voudrais échanger la lampe reçue (commande {n}) "
            "contre le modèle en laiton.",
        ),
        (
            "Étiquette de retour",
            "Bonjour, je n'ai pas reçu l'étiquette de retour prépayée pour la commande {n}.",
        ),
    ],
    "Sinistres": [
        (
            "Dégât des eaux à {city}",
            "Bonjour, une fuite chez mon voisin du dessus a abîmé le "
            "plafond de ma cuisine. Mon contrat est le {n}. Que dois-je faire ?",
        ),
        (
            "Accident de voiture",
            "Bonjour, j'ai eu un accrochage hier sur un parking à {city}. "
            "Le constat amiable est rempli, comment vous l'envoyer ?",
        ),
        (
            "Bris de glace",
            "Bonjour, mon pare-brise s'est fissuré sur l'autoroute. Mon contrat "
            "{n} couvre-t-il le remplacement ?",
        ),
        (
            "Vol de vélo",
            "Bonjour, on m'a volé mon vélo électrique devant mon immeuble. J'ai "
            "déposé plainte au commissariat de {city}.",
        ),
        (
            "Suivi de mon dossier sinistre",
            "Bonjour, où en est le traitement de mon sinistre "
            "déclaré le mois dernier ? L'expert n'a pas encore pris contact avec moi.",
        ),
    ],
    "Contrats": [
        (
            "Attestation d'assurance habitation",
            "Bonjour, mon propriétaire me demande une "
            "attestation d'assurance habitation. Pouvez-vous me l'envoyer ?",
        ),
        (
            "Résiliation du contrat {n}",
            "Bonjour, je souhaite résilier mon contrat {n} à son "
            "échéance. Merci de m'indiquer la marche à suivre.",
        ),
        (
            "Ajout d'un conducteur",
            "Bonjour, je voudrais ajouter mon fils comme conducteur secondaire sur le contrat {n}.",
        ),
        (
            "Changement de RIB",
            "Bonjour, j'ai changé de banque. Comment mettre à jour mes "
            "coordonnées bancaires pour les prélèvements ?",
        ),
        (
            "Devis tous risques",
            "Bonjour, je souhaiterais un devis pour passer en formule tous "
            "risques sur mon contrat {n}.",
        ),
    ],
}

REPLIES = [
    "Bonjour {name},\nMerci pour votre message. Nous avons bien pris en compte votre demande "
    "et revenons vers vous très rapidement.\nBien cordialement,\n{agent}",
    "Bonjour {name},\nJe viens de vérifier votre dossier : tout est en ordre de notre côté. "
    "Pourriez-vous nous confirmer que le problème persiste ?\nCordialement,\n{agent}",
    "Bonjour {name},\nNous sommes désolés pour ce désagrément. Nous avons relancé le service "
    "concerné et vous tiendrons informé dès que possible.\nBien à vous,\n{agent}",
    "Bonjour {name},\nPour avancer, pourriez-vous nous transmettre une photo ou une copie du "
    "document concerné ?\nMerci d'avance,\n{agent}",
]
CONTACT_FOLLOW_UPS = [
    "Merci pour votre réponse rapide. Je vous envoie les éléments demandés.",
    "Toujours rien de mon côté, pouvez-vous relancer ?",
    "C'est parfait, merci beaucoup pour votre aide !",
    "Je n'ai pas bien compris, pouvez-vous préciser ce que je dois faire ?",
]
NOTES = [
    "Client déjà relancé par téléphone la semaine dernière.",
    "Vérifié dans l'outil logistique : colis pris en charge par le transporteur.",
    "Dossier à surveiller, deuxième réclamation ce mois-ci.",
    "J'ai demandé l'avis de l'expert avant de répondre.",
    "Geste commercial possible si le retard dépasse quinze jours.",
]
PHONE_NOTES = [
    "Appel entrant : le client demande où en est sa demande. Rappel promis sous 48 h.",
    "Appel entrant : la cliente signale le problème et souhaite une réponse écrite.",
]

CHANNEL_WEIGHTS = [
    (Channel.EMAIL, 40),
    (Channel.WEBFORM, 15),
    (Channel.PORTAL, 10),
    (Channel.CHAT, 10),
    (Channel.PHONE, 10),
    (Channel.SMS, 5),
    (Channel.WHATSAPP, 6),
    (Channel.MOBILE_APP, 4),
]
STATUS_WEIGHTS = [
    (Status.NEW, 12),
    (Status.TO_PROCESS, 20),
    (Status.AWAITING_EXPERT, 6),
    (Status.AWAITING_EXTERNAL, 4),
    (Status.AWAITING_CONTACT, 18),
    (Status.CLOSED, 40),
]

AGENTS = [
    # email, first, last, {workspace key: role}, is_staff
    (
        "admin@demo.test",
        "Amélie",
        "Rousseau",
        {"boutique": RoleCode.ADMINISTRATOR, "assurance": RoleCode.ADMINISTRATOR},
        True,
    ),
    (
        "coordinateur@demo.test",
        "Olivier",
        "Marchand",
        {"boutique": RoleCode.COORDINATOR, "assurance": RoleCode.COORDINATOR},
        False,
    ),
    ("agent@boutique.demo", "Bruno", "Lefort", {"boutique": RoleCode.AGENT}, False),
    ("agent@assurance.demo", "Chloé", "Perrin", {"assurance": RoleCode.AGENT}, False),
    (
        "expert@demo.test",
        "Étienne",
        "Faure",
        {"boutique": RoleCode.EXPERT, "assurance": RoleCode.EXPERT},
        False,
    ),
    (
        "externe@demo.test",
        "Inès",
        "Colin",
        {"boutique": RoleCode.EXTERNAL_AGENT, "assurance": RoleCode.EXTERNAL_AGENT},
        False,
    ),
]

# Fixed keys, so the demo's forms have addresses to type: /webform/demo-boutique/.
WEB_FORMS = [
    ("boutique", "demo-boutique", "Contactez la Boutique en ligne", ["numero_client"]),
    ("assurance", "demo-assurance", "Déclarer un sinistre", ["numero_contrat", "formule"]),
]
